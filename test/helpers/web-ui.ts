import type { Locator, Page } from 'playwright-core'
import { until } from './waiting.js'

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * The web client as a person uses it, found by role and accessible name (so the names are tested
 * too): each step waits for what it needs, as Playwright's locators do, never for a fixed time.
 */
export class WebClient {
  readonly inbox: Locator
  /** The message list's scrolling region. */
  readonly messages: Locator
  /** The messages the server has: the history, without those on their way. */
  readonly history: Locator
  readonly composer: Locator
  readonly connection: Locator

  constructor(readonly page: Page) {
    this.inbox = page.getByRole('navigation', { name: 'Inbox' })
    this.messages = page.getByRole('log', { name: 'Messages' })
    this.history = this.messages.getByRole('list', { name: 'History' })
    this.composer = page.getByRole('form', { name: 'Send a message' })
    this.connection = page.getByRole('status', { name: 'Connection' })
  }

  async register(username: string, password?: string): Promise<void> {
    const form = this.page.getByRole('form', { name: 'Sign in or register' })
    await form.getByLabel('Username').fill(username)
    await form.getByLabel('Password').fill(password ?? '')
    await form.getByRole('button', { name: 'Register' }).click()
    await this.signedIn(username)
  }

  async signIn(username: string, password: string): Promise<void> {
    const form = this.page.getByRole('form', { name: 'Sign in or register' })
    await form.getByLabel('Username').fill(username)
    await form.getByLabel('Password').fill(password)
    await form.getByRole('button', { name: 'Sign in' }).click()
    await this.signedIn(username)
  }

  /** Waits until the page is signed in as `username` and its socket is welcomed. */
  async signedIn(username: string): Promise<void> {
    await this.page.getByRole('banner').getByText(`Signed in as ${username}`).waitFor()
    await this.connection.filter({ hasText: 'Connected' }).waitFor()
  }

  /** The form of a side panel (New conversation, Direct message, …), opened by its summary if it is closed. */
  async panel(summary: string, formName = summary): Promise<Locator> {
    const form = this.page.getByRole('form', { name: formName })
    if (!(await form.isVisible())) await this.page.getByText(summary, { exact: true }).click()
    return form
  }

  async startDirect(username: string): Promise<void> {
    const form = await this.panel('Direct message')
    await form.getByLabel('Username').fill(username)
    await form.getByRole('button', { name: 'Start direct conversation' }).click()
  }

  async createConversation(title: string, kind: 'open' | 'private' | 'public' = 'open'): Promise<void> {
    const form = await this.panel('New conversation')
    await form.getByLabel('Title').fill(title)
    await form.getByLabel('Who can take part').selectOption(kind)
    await form.getByRole('button', { name: 'Create' }).click()
    await this.heading(title).waitFor()
  }

  /** The open conversation's heading. */
  heading(title: string): Locator {
    return this.page.getByRole('heading', { level: 2, name: title, exact: true })
  }

  /** The inbox entry of a conversation, by its title. */
  entry(title: string): Locator {
    return this.inbox.getByRole('button', { name: new RegExp(`^${escaped(title)}\\b`) })
  }

  async open(title: string): Promise<void> {
    await this.entry(title).click()
    await this.heading(title).waitFor()
  }

  /** The message whose text is `text` exactly. */
  message(text: string): Locator {
    return this.history.getByRole('listitem').filter({ has: this.page.getByText(text, { exact: true }) })
  }

  /** The texts of the messages in the history, in order. */
  texts(): Promise<string[]> {
    return this.history.getByRole('listitem').evaluateAll((items) => items.flatMap((item) => item.querySelector('.text')?.textContent ?? []))
  }

  /**
   * Types in the message box until `indicator` shows on another page, as a person goes on typing:
   * a client tells the others at most once per TYPING_INTERVAL_MS, so one keystroke may tell nobody.
   */
  async keepTyping(indicator: Locator): Promise<void> {
    const field = this.composer.getByLabel('Message')
    await until(async () => {
      await field.press('a')
      return indicator.isVisible()
    }, 'a typing indicator on the other page', 20_000)
  }

  async send(text: string): Promise<void> {
    const field = this.composer.getByLabel('Message')
    await field.fill(text)
    await field.press('Enter')
  }

  /** An error a form shows (a role=alert paragraph), by its text. */
  alert(text: string | RegExp): Locator {
    return this.page.getByRole('alert').filter({ hasText: text })
  }
}
