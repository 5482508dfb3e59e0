import { type BackoffOptions, backoffDelay } from './backoff.js'
import { type Clock, Timer } from './clock.js'
import { FrameError } from './errors.js'
import type { ChatEvent, Diagnostic, ErrorFrame, IncomingFrame } from './types.js'

/** Error codes after which the same subscribe is sent again later (docs/protocol.md, "error"). */
export const RETRYABLE_ERRORS = new Set(['busy', 'overloaded', 'rate_limited', 'internal', 'unavailable'])

export interface SubscriptionPort {
  /** Sends a frame on the open socket; false when none is open (the next welcome resubscribes). */
  send(frame: object): boolean
  deliver(event: ChatEvent): void
  removed(conversationId: number): void
  failed(conversationId: number, error: Error): void
  diagnostic(diagnostic: Diagnostic): void
  clock: Clock
  random: () => number
  backoff: BackoffOptions
}

interface Subscription {
  conversationId: number
  /** The last seq delivered, in order; undefined until the first reply or event says where "now" is. */
  lastSeq: number | undefined
  /** The id of the subscribe frame in flight, if one is. */
  requestId: string | undefined
  live: boolean
  /** Retryable refusals in a row: the backoff's step. */
  refusals: number
  retry: Timer
  waiters: { resolve: (lastSeq: number) => void; reject: (error: Error) => void }[]
}

/**
 * The conversations a client follows and how far it has seen each: the resume logic of
 * docs/protocol.md. After every (re)connect each is subscribed with `afterSeq` = the last seq seen; a
 * `complete: false` reply subscribes again from where its page ended; a seq jump subscribes again
 * from the last seq seen. Each event is delivered once, in seq order per conversation; a repeat is
 * dropped, and nothing past a gap is delivered before the gap is filled.
 */
export class Subscriptions {
  private readonly byConversation = new Map<number, Subscription>()
  private counter = 0

  constructor(private readonly port: SubscriptionPort) {}

  /**
   * Follows a conversation from `afterSeq` (every event after it is delivered), or from now when it
   * is not given. Resolves with the last seq once the subscription is live. Following one already
   * followed keeps its place, unless `afterSeq` is given.
   */
  add(conversationId: number, afterSeq?: number): Promise<number> {
    let subscription = this.byConversation.get(conversationId)
    if (!subscription) {
      subscription = { conversationId, lastSeq: afterSeq, requestId: undefined, live: false, refusals: 0, retry: new Timer(this.port.clock), waiters: [] }
      this.byConversation.set(conversationId, subscription)
    }
    const current = subscription
    const promise = new Promise<number>((resolve, reject) => current.waiters.push({ resolve, reject }))
    const moved = afterSeq !== undefined && afterSeq !== current.lastSeq
    if (moved) current.lastSeq = afterSeq
    // A new place supersedes a subscribe in flight: its reply, with the old id, is then ignored.
    if (moved || (!current.live && current.requestId === undefined)) this.request(current)
    else if (current.live) this.settle(current)
    return promise
  }

  /** Stops following a conversation. Resolves at once: nothing of it is delivered after this. */
  remove(conversationId: number): void {
    const subscription = this.byConversation.get(conversationId)
    if (!subscription) return
    this.forget(subscription)
    this.port.send({ type: 'unsubscribe', conversationId })
  }

  has(conversationId: number): boolean {
    return this.byConversation.has(conversationId)
  }

  /** Whether the subscription is live: caught up and receiving events as they happen. */
  isLive(conversationId: number): boolean {
    return this.byConversation.get(conversationId)?.live ?? false
  }

  lastSeq(conversationId: number): number | undefined {
    return this.byConversation.get(conversationId)?.lastSeq
  }

  get conversationIds(): number[] {
    return [...this.byConversation.keys()]
  }

  /** A socket was welcomed: resume every conversation from its last seq. */
  resumeAll(): void {
    for (const subscription of this.byConversation.values()) this.request(subscription)
  }

  /** The socket is gone: nothing is live until the next one resumes. */
  pauseAll(): void {
    for (const subscription of this.byConversation.values()) {
      subscription.live = false
      subscription.requestId = undefined
      subscription.retry.clear()
    }
  }

  /** Handles a frame if it is about subscriptions; false otherwise. */
  handle(frame: IncomingFrame): boolean {
    switch (frame.type) {
      case 'events':
        for (const event of frame.events) this.onEvent(event)
        return true
      case 'subscribed':
        this.onSubscribed(frame)
        return true
      case 'unsubscribed':
        if ('reason' in frame) this.onRemoved(frame.conversationId)
        return true
      case 'error':
        return this.onError(frame)
      default:
        return false
    }
  }

  /** Fails every subscription that is not live yet, and forgets all of them. */
  clear(error: Error): void {
    for (const subscription of [...this.byConversation.values()]) {
      for (const waiter of subscription.waiters.splice(0)) waiter.reject(error)
      this.forget(subscription)
    }
  }

  private request(subscription: Subscription): void {
    subscription.live = false
    subscription.retry.clear()
    const id = `s${subscription.conversationId}-${++this.counter}`
    const frame: Record<string, unknown> = { type: 'subscribe', id, conversationId: subscription.conversationId }
    if (subscription.lastSeq !== undefined) frame.afterSeq = subscription.lastSeq
    subscription.requestId = this.port.send(frame) ? id : undefined
  }

  private onEvent(event: ChatEvent): void {
    const subscription = this.byConversation.get(event.conversationId)
    if (!subscription) return
    const last = subscription.lastSeq
    if (last !== undefined && event.seq <= last) {
      this.port.diagnostic({ type: 'repeat-dropped', conversationId: subscription.conversationId, seq: event.seq })
      return
    }
    if (last === undefined || event.seq === last + 1) {
      subscription.lastSeq = event.seq
      this.port.deliver(event)
      return
    }
    // A jump: start over from the last seq seen, unless a subscribe is already on its way.
    if (subscription.requestId !== undefined && !subscription.live) return
    this.port.diagnostic({ type: 'seq-jump', conversationId: subscription.conversationId, expected: last + 1, got: event.seq })
    this.request(subscription)
  }

  private onSubscribed(frame: Extract<IncomingFrame, { type: 'subscribed' }>): void {
    const subscription = this.byConversation.get(frame.conversationId)
    if (!subscription || frame.id !== subscription.requestId) return
    subscription.requestId = undefined
    subscription.refusals = 0
    // Without afterSeq, "now" is where the reply says the socket stands.
    subscription.lastSeq ??= frame.lastSeq
    if (!frame.complete) {
      this.port.diagnostic({ type: 'incomplete-resume', conversationId: subscription.conversationId })
      return this.request(subscription)
    }
    if (subscription.lastSeq < frame.lastSeq) {
      // The reply says more was sent than arrived: ask again from what did.
      this.port.diagnostic({ type: 'seq-jump', conversationId: subscription.conversationId, expected: subscription.lastSeq + 1, got: frame.lastSeq })
      return this.request(subscription)
    }
    subscription.live = true
    this.settle(subscription)
  }

  private onRemoved(conversationId: number): void {
    const subscription = this.byConversation.get(conversationId)
    if (!subscription) return
    this.forget(subscription)
    for (const waiter of subscription.waiters.splice(0)) waiter.reject(new FrameError('not_found', 'removed from the conversation'))
    this.port.removed(conversationId)
  }

  private onError(frame: ErrorFrame): boolean {
    const subscription = [...this.byConversation.values()].find((s) => s.requestId !== undefined && s.requestId === frame.id)
    if (!subscription) return false
    subscription.requestId = undefined
    if (RETRYABLE_ERRORS.has(frame.code)) {
      const delay = frame.retryAfterSeconds !== undefined ? frame.retryAfterSeconds * 1000 : backoffDelay(subscription.refusals, this.port.backoff, this.port.random)
      subscription.refusals++
      subscription.retry.set(delay, () => this.request(subscription))
      return true
    }
    const error = new FrameError(frame.code, frame.message)
    this.forget(subscription)
    for (const waiter of subscription.waiters.splice(0)) waiter.reject(error)
    this.port.failed(subscription.conversationId, error)
    return true
  }

  private settle(subscription: Subscription): void {
    for (const waiter of subscription.waiters.splice(0)) waiter.resolve(subscription.lastSeq as number)
  }

  private forget(subscription: Subscription): void {
    subscription.retry.clear()
    this.byConversation.delete(subscription.conversationId)
  }
}
