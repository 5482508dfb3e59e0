import type { Locator } from 'playwright-core'
import type { Test } from 'tap'
import { type Device, launchChromium, openDevice } from './browser.js'
import { WebClient } from './web-ui.js'

/** A device with a page of the web client, and that client as a person uses it. */
export type WebDevice = Device & { ui: WebClient }

/**
 * Launches Chromium for a test file, and gives the way to open a URL of the web client on a new
 * device; the devices and the browser are closed when `t` ends.
 */
export async function webDevices(t: Test): Promise<(url: string) => Promise<WebDevice>> {
  const browser = await launchChromium(t)
  return async (url) => {
    const opened = await openDevice(browser, url)
    t.teardown(() => opened.page.context().close())
    return { ...opened, ui: new WebClient(opened.page) }
  }
}

/** Asserts that the page comes to show (or stop showing) something. */
export function shows(t: Test, locator: Locator, what: string, state: 'visible' | 'hidden' | 'detached' = 'visible') {
  return t.resolves(locator.waitFor({ state }), what)
}
