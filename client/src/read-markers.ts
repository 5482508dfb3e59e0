import { type Clock, Timer } from './clock.js'
import { FrameError } from './errors.js'
import { newClientId } from './ids.js'
import { RETRYABLE_ERRORS } from './subscriptions.js'
import type { IncomingFrame, ReadMarker } from './types.js'

export interface ReadMarkersPort {
  /** Sends a frame on the open, logged-in socket; false when there is none. */
  send(frame: object): boolean
  /** POST /api/conversations/:id/read, the same move over REST. */
  rest(conversationId: number, seq: number): Promise<ReadMarker>
  clock: Clock
  /** A `read` frame not answered this long after it went out is moved over REST instead. */
  replyTimeoutMs: number
}

interface Pending {
  conversationId: number
  seq: number
  timer: Timer
  resolve: (marker: ReadMarker) => void
  reject: (error: Error) => void
}

/**
 * Read markers: moved with a `read` frame while the socket is open (docs/protocol.md), so that a
 * client that is reading makes no REST call, and over REST otherwise. Both move the marker the same
 * way, and moving it twice is harmless, so a frame whose reply does not come (the socket was lost,
 * or the reply is late) or that is refused for a while (busy, overloaded) is moved over REST.
 */
export class ReadMarkers {
  private readonly pending = new Map<string, Pending>()

  constructor(private readonly port: ReadMarkersPort) {}

  mark(conversationId: number, seq: number): Promise<ReadMarker> {
    const id = newClientId('r')
    if (!this.port.send({ type: 'read', id, conversationId, seq })) return this.port.rest(conversationId, seq)
    return new Promise((resolve, reject) => {
      const timer = new Timer(this.port.clock)
      this.pending.set(id, { conversationId, seq, timer, resolve, reject })
      timer.set(this.port.replyTimeoutMs, () => this.overRest(id))
    })
  }

  /** Handles the reply to a `read` frame (`marked`, or an error frame); false for any other frame. */
  handle(frame: IncomingFrame): boolean {
    if (!('id' in frame) || frame.id === undefined) return false
    const entry = this.pending.get(frame.id)
    if (!entry) return false
    if (frame.type === 'marked') {
      this.settle(frame.id)
      entry.resolve({ status: 'success', seq: frame.seq, unread: frame.unread, mentions: frame.mentions })
      return true
    }
    if (frame.type === 'error') {
      if (RETRYABLE_ERRORS.has(frame.code)) this.overRest(frame.id)
      else {
        this.settle(frame.id)
        entry.reject(new FrameError(frame.code, frame.message))
      }
      return true
    }
    return false
  }

  /** The socket is gone: what waits for a reply is moved over REST. */
  socketLost(): void {
    for (const id of [...this.pending.keys()]) this.overRest(id)
  }

  private overRest(id: string): void {
    const entry = this.settle(id)
    if (entry) this.port.rest(entry.conversationId, entry.seq).then(entry.resolve, entry.reject)
  }

  private settle(id: string): Pending | undefined {
    const entry = this.pending.get(id)
    entry?.timer.clear()
    this.pending.delete(id)
    return entry
  }
}
