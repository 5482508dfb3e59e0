import { access, constants } from 'node:fs/promises'
import { type Browser, type Page, chromium } from 'playwright-core'

/** Debian's Chromium (apt-get install chromium; .ci/run installs it): never a downloaded browser. */
export const CHROMIUM = '/usr/bin/chromium'

const ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']

/** Headless Chromium, closed when the test ends. */
export async function launchChromium(t: { teardown(fn: () => unknown): void }): Promise<Browser> {
  await access(CHROMIUM, constants.X_OK).catch(() => {
    throw new Error(`the browser tests need Debian's Chromium at ${CHROMIUM}: apt-get install chromium (.ci/run installs it)`)
  })
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
  t.teardown(() => browser.close())
  return browser
}

/** A device: a page in a context of its own (its own cookies), with what went wrong in it recorded. */
export interface Device {
  page: Page
  /**
   * Uncaught exceptions and console errors (a CSP violation is one), except the browser's notes on
   * answers that were errors and on sockets that could not connect: the tests cause those.
   */
  problems: string[]
  /** The URL of every request the page made, from its first. */
  requests: string[]
}

/** Opens the page at `url` (the web client, or another the node serves) on a new device. */
export async function openDevice(browser: Browser, url: string): Promise<Device> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 720 } })
  const page = await context.newPage()
  const problems: string[] = []
  const requests: string[] = []
  page.on('request', (request) => requests.push(request.url()))
  page.on('pageerror', (err) => problems.push(`uncaught: ${err.message}`))
  page.on('console', (message) => {
    if (message.type() !== 'error' || /^Failed to load resource|^WebSocket connection to .* failed/.test(message.text())) return
    problems.push(`console: ${message.text()}`)
  })
  await page.goto(url)
  return { page, problems, requests }
}
