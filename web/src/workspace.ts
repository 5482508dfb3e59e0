import { type ChatClient, type ConnectionState, InboxState } from '@chat-cluster/client'
import { BlocksPanel } from './blocks-panel.js'
import { conversationForms } from './conversation-forms.js'
import { ConversationView } from './conversation-view.js'
import { byId } from './dom.js'
import { InboxView } from './inbox-view.js'
import { InviteLanding } from './invites.js'
import { ProfilePanel } from './profile-panel.js'
import { SearchPanel } from './search-panel.js'
import { announce, explain } from './status.js'

const CONNECTION_TEXT: Record<ConnectionState, string> = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  closed: 'Offline',
}

/**
 * Everything after sign-in, for one ChatClient: the connection's state, the inbox, the open
 * conversation, the forms, logout. It ends when the user logs out or the session ends elsewhere.
 */
export class Workspace {
  private readonly listening = new AbortController()
  private readonly inbox: InboxState
  private readonly inboxView: InboxView
  private readonly blocks: BlocksPanel
  private readonly profile: ProfilePanel
  private readonly invite: InviteLanding
  private readonly stops: (() => void)[]
  private view: ConversationView | undefined
  private ended = false

  constructor(
    private readonly client: ChatClient,
    private readonly signedOut: (notice: string) => void,
  ) {
    const { signal } = this.listening
    this.inbox = new InboxState(client)
    this.inboxView = new InboxView(this.inbox, { open: (entry) => this.open(entry.id, entry.title), current: () => this.view?.conversationId })
    this.blocks = new BlocksPanel(client, () => this.view?.render(), signal)
    conversationForms(client, this.inbox, (id, title) => this.open(id, title), signal)
    this.profile = new ProfilePanel(client, signal)
    this.invite = new InviteLanding(client, (id, title) => this.open(id, title), signal)
    new SearchPanel(client, { titleOf: (id) => this.inbox.entry(id)?.title ?? `Conversation ${id}`, open: (id, title, seq) => this.open(id, title, seq) }, signal)
    this.stops = [
      client.on('state', ({ state }) => this.showConnection(state)),
      client.on('session.ended', () => this.end('Your session ended: you signed out on this device elsewhere, or it expired. Sign in again.')),
    ]
    byId('logout', HTMLButtonElement).addEventListener('click', () => void this.logout(), { signal })
  }

  /** Connects, then reads the inbox, the blocks and the profile, and shows the invite the page was opened at. */
  async start(): Promise<void> {
    byId('workspace', HTMLDivElement).hidden = false
    byId('account', HTMLDivElement).hidden = false
    byId('connection', HTMLParagraphElement).hidden = false
    this.showConnection(this.client.state)
    try {
      // The inbox tells the user's own messages from others' by the name the socket is welcomed with.
      await this.client.connect()
    } catch {
      return // The session ended: end() has run.
    }
    byId('whoami', HTMLElement).textContent = this.client.user ?? ''
    try {
      await Promise.all([this.inbox.load(), this.blocks.load(), this.profile.load(), this.invite.show()])
    } catch (err) {
      announce(`The inbox could not be read: ${explain(err)}`)
    }
  }

  /** Opens a conversation, at the message `seq` when given (a search result). */
  private open(conversationId: number, title: string, seq?: number): void {
    let opened = Promise.resolve()
    if (this.view?.conversationId !== conversationId) {
      this.view?.dispose()
      this.view = new ConversationView({ client: this.client, inbox: this.inbox, isBlocked: (user) => this.blocks.isBlocked(user) }, conversationId, title)
      opened = this.view.open()
    }
    const view = this.view
    if (seq !== undefined) void opened.then(() => view.reveal(seq))
    this.inboxView.render()
  }

  private showConnection(state: ConnectionState): void {
    const line = byId('connection', HTMLParagraphElement)
    line.textContent = CONNECTION_TEXT[state]
    line.dataset.state = state
  }

  private async logout(): Promise<void> {
    // The session is forgotten here whatever the server answers.
    await this.client.logout().catch(() => {})
    this.end('You have logged out.')
  }

  private end(notice: string): void {
    if (this.ended) return
    this.ended = true
    this.listening.abort()
    for (const stop of this.stops) stop()
    this.view?.dispose()
    this.inboxView.dispose()
    this.inbox.close()
    this.client.close()
    byId('workspace', HTMLDivElement).hidden = true
    byId('account', HTMLDivElement).hidden = true
    byId('connection', HTMLParagraphElement).hidden = true
    this.signedOut(notice)
  }
}
