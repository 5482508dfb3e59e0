import { ApiError, FrameError, NetworkError, NotLoggedInError, OutboxFullError } from '@chat-cluster/client'
import { byId } from './dom.js'

/** Says something in the status bar, a live region that screen readers read out. */
export function announce(text: string): void {
  const region = byId('announcer', HTMLParagraphElement)
  // The same text twice in a row is read again only if the region changes in between.
  region.textContent = ''
  setTimeout(() => (region.textContent = text), 50)
}

/** Shows an error under a form field (a role=alert paragraph), or clears it with undefined. */
export function showError(id: string, text: string | undefined, field?: HTMLElement): void {
  byId(id, HTMLParagraphElement).textContent = text ?? ''
  if (!field) return
  if (text) {
    field.setAttribute('aria-invalid', 'true')
    field.setAttribute('aria-errormessage', id)
  } else {
    field.removeAttribute('aria-invalid')
    field.removeAttribute('aria-errormessage')
  }
}

/** What went wrong, in a sentence for the person at the keyboard; `byStatus` words a REST status for this action. */
export function explain(err: unknown, byStatus: Record<number, string> = {}): string {
  if (err instanceof ApiError) {
    const worded = byStatus[err.status]
    if (worded) return worded
    if (err.status === 400) return err.body.message ? `That was not accepted: ${err.body.message}.` : 'That was not accepted.'
    if (err.status === 401) return 'You are signed out: sign in again.'
    if (err.status === 403) return 'You are not allowed to do that.'
    if (err.status === 404) return 'Not found: it does not exist, or you cannot see it.'
    if (err.status === 429) return `Too many attempts: try again in ${err.retryAfterSeconds ?? 'a few'} seconds.`
    if (err.status >= 500) return 'The server is busy or unavailable: try again in a moment.'
    return `The server said ${err.message}.`
  }
  if (err instanceof FrameError) {
    if (err.code === 'forbidden') return 'You cannot post here (a block, or a public conversation you are not a member of).'
    if (err.code === 'not_found') return 'This conversation does not exist for you any more.'
    if (err.code === 'rate_limited') return 'You are sending too fast: wait a moment.'
    return `That was not accepted: ${err.message}.`
  }
  if (err instanceof NetworkError) return 'The server cannot be reached: check the connection and try again.'
  if (err instanceof OutboxFullError) return 'Too many messages are waiting to be sent: wait for the connection to come back.'
  if (err instanceof NotLoggedInError) return 'You are signed out: sign in again.'
  return `Something went wrong: ${(err as Error).message ?? String(err)}`
}
