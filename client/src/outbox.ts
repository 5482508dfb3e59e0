import { type BackoffOptions, backoffDelay } from './backoff.js'
import { type Clock, Timer } from './clock.js'
import { FrameError, OutboxFullError } from './errors.js'
import { RETRYABLE_ERRORS } from './subscriptions.js'
import type { Diagnostic, ErrorFrame, IncomingFrame, SentMessage } from './types.js'

export interface OutboxPort {
  /** Sends a frame on the open socket; false when none is open (the next welcome sends it). */
  send(frame: object): boolean
  /** The socket did not acknowledge in time: give it up, so that another one takes the send. */
  dropSocket(reason: string): void
  diagnostic(diagnostic: Diagnostic): void
  clock: Clock
  random: () => number
  backoff: BackoffOptions
}

export interface OutboxOptions {
  /** Sends waiting for their ack at most; past it send() rejects with OutboxFullError. */
  limit: number
  /** A send not acknowledged this long after it went out is sent again on a new socket. */
  ackTimeoutMs: number
}

interface Entry {
  id: string
  conversationId: number
  text: string
  /** The seq of the message it replies to. */
  replyTo: number | undefined
  sends: number
  refusals: number
  resolve: (sent: SentMessage) => void
  reject: (error: Error) => void
}

/**
 * Messages on their way, exactly once: each is sent with an id that is its idempotency key, and sent
 * again with the same id after a lost socket, a late ack or a refusal worth retrying, until the
 * server acknowledges it; the server stores a retried send once. They go one at a time, in the order
 * send() was called, so they are stored in that order.
 */
export class Outbox {
  private readonly queue: Entry[] = []
  /** The head's send is on the open socket, awaiting its ack. */
  private inFlight = false
  private readonly ackTimer: Timer
  private readonly retryTimer: Timer

  constructor(
    private readonly port: OutboxPort,
    private readonly options: OutboxOptions,
  ) {
    this.ackTimer = new Timer(port.clock)
    this.retryTimer = new Timer(port.clock)
  }

  get size(): number {
    return this.queue.length
  }

  /** The ids of the sends not yet acknowledged, oldest first. */
  get pending(): string[] {
    return this.queue.map((entry) => entry.id)
  }

  push(id: string, conversationId: number, text: string, replyTo?: number): Promise<SentMessage> {
    if (this.queue.length >= this.options.limit) return Promise.reject(new OutboxFullError(this.options.limit))
    return new Promise((resolve, reject) => {
      this.queue.push({ id, conversationId, text, replyTo, sends: 0, refusals: 0, resolve, reject })
      this.pump()
    })
  }

  /** Sends the head if a socket is open and nothing is in flight. Called again on each welcome. */
  pump(): void {
    const head = this.queue[0]
    if (!head || this.inFlight || this.retryTimer.pending) return
    const { id, conversationId, text, replyTo } = head
    if (!this.port.send({ type: 'send', id, conversationId, text, ...(replyTo !== undefined && { replyTo }) })) return
    if (head.sends++ > 0) this.port.diagnostic({ type: 'send-retry', id: head.id })
    this.inFlight = true
    this.ackTimer.set(this.options.ackTimeoutMs, () => {
      this.inFlight = false
      this.port.diagnostic({ type: 'ack-timeout', id: head.id })
      this.port.dropSocket('a send was not acknowledged in time')
    })
  }

  /** The socket is gone: what was in flight goes again on the next one. */
  socketLost(): void {
    this.inFlight = false
    this.ackTimer.clear()
  }

  /** Handles an ack or an error frame about the head; false for any other frame. */
  handle(frame: IncomingFrame): boolean {
    const head = this.queue[0]
    if (!head || !('id' in frame) || frame.id !== head.id) return false
    if (frame.type === 'ack') {
      this.settle()
      head.resolve({ conversationId: frame.conversationId, seq: frame.seq, message: frame.message })
      return true
    }
    if (frame.type === 'error') {
      this.refused(head, frame)
      return true
    }
    return false
  }

  /** Rejects every send not yet acknowledged. */
  failAll(error: Error): void {
    this.inFlight = false
    this.ackTimer.clear()
    this.retryTimer.clear()
    for (const entry of this.queue.splice(0)) entry.reject(error)
  }

  private refused(head: Entry, frame: ErrorFrame): void {
    this.inFlight = false
    this.ackTimer.clear()
    if (!RETRYABLE_ERRORS.has(frame.code)) {
      this.settle()
      head.reject(new FrameError(frame.code, frame.message))
      return
    }
    const delay = frame.retryAfterSeconds !== undefined ? frame.retryAfterSeconds * 1000 : backoffDelay(head.refusals, this.port.backoff, this.port.random)
    head.refusals++
    this.retryTimer.set(delay, () => this.pump())
  }

  /** The head is done with: the next one goes. */
  private settle(): void {
    this.inFlight = false
    this.ackTimer.clear()
    this.retryTimer.clear()
    this.queue.shift()
    queueMicrotask(() => this.pump())
  }
}
