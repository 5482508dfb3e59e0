import type { Emitter } from './emitter.js'
import { ClosedError, NotLoggedInError } from './errors.js'
import type { ClientEvents } from './types.js'

/**
 * Resolves at the next welcome; rejects if the session ends (NotLoggedInError) or the socket is
 * closed for good (ClosedError) first.
 */
export function untilWelcomed(events: Emitter<ClientEvents>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false
    const settle = (error?: Error) => {
      if (settled) return
      settled = true
      for (const off of offs) off()
      if (error) reject(error)
      else resolve()
    }
    const closed = () => settle(new ClosedError('the socket was closed before it was welcomed'))
    const offs = [
      events.once('connected', () => settle()),
      events.once('session.ended', ({ reason }) => settle(new NotLoggedInError(reason))),
      // A session that ended closes the socket first and says why just after.
      events.on('state', ({ state }) => state === 'closed' && queueMicrotask(closed)),
    ]
  })
}
