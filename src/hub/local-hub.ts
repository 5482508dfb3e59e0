import type { Logger } from '../logger.js'
import type { ConversationSignal, EncodedEvent, EncodedLog, UserNotice } from '../chat/events.js'
import { ChatError } from '../errors.js'
import { encodeEventsFrame } from './events-frame.js'

const NONE: ReadonlySet<number> = new Set()

/** A local socket as the hub sees it. */
export interface Subscriber {
  /** The socket's user; undefined for someone not logged in. */
  readonly userId: number | undefined
  /** Writes a ready-made frame; the socket may close itself instead when it cannot keep up. */
  send(frame: Buffer): void
}

/** Reads a conversation's log from the store: at most `limit` events after `afterSeq`, and its last seq. */
export type ReadLog = (conversationId: number, afterSeq: number, limit: number) => Promise<EncodedLog>

export interface SubscribeResult {
  /** Every event up to this seq has been sent to the subscriber. */
  lastSeq: number
  /** False when more events were missed than one resume sends: the subscriber is not live and should resume again from lastSeq. */
  complete: boolean
}

/** The node's view of one conversation that has local subscribers. */
interface Channel {
  readonly conversationId: number
  /** Highest seq relayed in order; undefined until the first subscriber's read tells the starting point. */
  watermark: number | undefined
  /** Events that arrived ahead of a missing seq (writers on several nodes XADD in any order). */
  readonly pending: Map<number, EncodedEvent>
  /** Live subscribers and the seq each has been sent up to. */
  readonly live: Map<Subscriber, number>
  /** Subscribers whose backfill is being read, with the events relayed meanwhile. */
  readonly syncing: Map<Subscriber, EncodedEvent[]>
  gapTimer: NodeJS.Timeout | undefined
  filling: boolean
  /** Events in seq order, past the watermark, that wait for the channel's next frame. */
  outbox: EncodedEvent[]
  flushTimer: NodeJS.Timeout | undefined
  /** performance.now() before which the channel sends no further frame. */
  nextFrameAt: number
}

export interface LocalHubOptions {
  readLog: ReadLog
  resumeLimit: number
  gapTimeoutMs: number
  /**
   * Frames of a channel are spaced at least (local subscribers × this) µs apart, at most
   * coalesceMaxMs; events that come meanwhile share the next frame. A frame costs a write per
   * socket, so this bounds the time one busy conversation can take from the node.
   */
  coalesceUsPerSubscriber: number
  coalesceMaxMs: number
  log: Logger
}

/**
 * This node's sockets, by conversation. It turns the stream, in whatever order nodes published to it,
 * into each conversation's events in seq order, exactly once per socket, serialised once per frame.
 */
export class LocalHub {
  private readonly channels = new Map<number, Channel>()
  private readonly subscriptions = new Map<Subscriber, Set<number>>()
  /** Every logged-in socket of this node, by user: where notices go. */
  private readonly sockets = new Map<number, Set<Subscriber>>()

  constructor(private readonly options: LocalHubOptions) {}

  /** Registers a logged-in socket for its user's notices. */
  addSocket(subscriber: Subscriber & { userId: number }): void {
    let set = this.sockets.get(subscriber.userId)
    if (!set) this.sockets.set(subscriber.userId, (set = new Set()))
    set.add(subscriber)
  }

  /** Writes a notice, serialised once, to every socket of its users on this node. */
  notify(notice: UserNotice): void {
    let frame: Buffer | undefined
    for (const userId of notice.userIds) {
      const set = this.sockets.get(userId)
      if (!set) continue
      frame ??= Buffer.from(notice.json)
      for (const subscriber of set) subscriber.send(frame)
    }
  }

  /** Writes a signal, serialised once, to the conversation's live subscribers on this node, except its sender's sockets. */
  signal(signal: ConversationSignal): void {
    const channel = this.channels.get(signal.conversationId)
    if (!channel) return
    let frame: Buffer | undefined
    for (const subscriber of channel.live.keys()) {
      if (subscriber.userId === signal.exceptUserId) continue
      subscriber.send((frame ??= Buffer.from(signal.json)))
    }
  }

  /** Takes a batch from the stream. Events for conversations with no local subscriber are dropped. */
  relay(events: readonly EncodedEvent[]): void {
    let byChannel: Map<Channel, EncodedEvent[]> | undefined
    for (const event of events) {
      const channel = this.channels.get(event.conversationId)
      if (!channel) continue
      byChannel ??= new Map()
      const list = byChannel.get(channel)
      if (list) list.push(event)
      else byChannel.set(channel, [event])
    }
    if (byChannel) for (const [channel, list] of byChannel) this.accept(channel, list)
  }

  /**
   * Subscribes to a conversation. With afterSeq, first sends the events after it from the store, then
   * switches to live events with no gap and no duplicate. Subscribing again starts over.
   * Resolves to undefined when the subscription was cancelled while the store was read.
   *
   * `authorise` runs after the store was read and throws if the subscriber may not read the
   * conversation. A removal that committed before the read is then seen by it; one that committed
   * after comes later in the log, through the channel, which ends the subscription there.
   */
  async subscribe(
    subscriber: Subscriber,
    conversationId: number,
    afterSeq?: number,
    authorise: () => Promise<void> = async () => {},
  ): Promise<SubscribeResult | undefined> {
    this.unsubscribe(subscriber, conversationId)
    const channel = this.channels.get(conversationId) ?? this.openChannel(conversationId)
    const relayedMeanwhile: EncodedEvent[] = []
    channel.syncing.set(subscriber, relayedMeanwhile)
    this.track(subscriber).add(conversationId)

    const limit = this.options.resumeLimit
    let log: EncodedLog
    try {
      log = await this.options.readLog(conversationId, afterSeq ?? 0, afterSeq === undefined ? 0 : limit + 1)
      await authorise()
    } catch (err) {
      this.unsubscribe(subscriber, conversationId)
      throw err
    }
    if (channel.syncing.get(subscriber) !== relayedMeanwhile) return undefined
    channel.syncing.delete(subscriber)

    if (afterSeq !== undefined && afterSeq > log.lastSeq) {
      this.unsubscribe(subscriber, conversationId)
      throw new ChatError('invalid', `afterSeq ${afterSeq} is past the conversation's last seq ${log.lastSeq}`)
    }
    channel.watermark ??= log.lastSeq

    if (log.events.length > limit) {
      const page = log.events.slice(0, limit)
      subscriber.send(encodeEventsFrame(page))
      this.unsubscribe(subscriber, conversationId)
      return { lastSeq: (page[page.length - 1] as EncodedEvent).seq, complete: false }
    }
    if (log.events.length > 0) subscriber.send(encodeEventsFrame(log.events))
    let sentThrough = afterSeq === undefined ? log.lastSeq : Math.max(afterSeq, log.lastSeq)
    const newer = relayedMeanwhile.filter((e) => e.seq > sentThrough)
    if (newer.length > 0) {
      subscriber.send(encodeEventsFrame(newer))
      sentThrough = (newer[newer.length - 1] as EncodedEvent).seq
    }
    channel.live.set(subscriber, sentThrough)
    // A new channel may hold events that arrived before its starting point was known.
    this.drain(channel)
    return { lastSeq: channel.live.get(subscriber) ?? sentThrough, complete: true }
  }

  unsubscribe(subscriber: Subscriber, conversationId: number): void {
    this.subscriptions.get(subscriber)?.delete(conversationId)
    const channel = this.channels.get(conversationId)
    if (!channel) return
    channel.live.delete(subscriber)
    channel.syncing.delete(subscriber)
    if (channel.live.size === 0 && channel.syncing.size === 0) this.closeChannel(channel)
  }

  /** Forgets a socket that closed. */
  removeSubscriber(subscriber: Subscriber): void {
    const own = subscriber.userId === undefined ? undefined : this.sockets.get(subscriber.userId)
    if (own?.delete(subscriber) && own.size === 0) this.sockets.delete(subscriber.userId as number)
    const ids = this.subscriptions.get(subscriber)
    if (!ids) return
    for (const id of [...ids]) this.unsubscribe(subscriber, id)
    this.subscriptions.delete(subscriber)
  }

  /** The conversations a subscriber is subscribed to, or reading the backfill of. */
  subscriptionsOf(subscriber: Subscriber): ReadonlySet<number> {
    return this.subscriptions.get(subscriber) ?? NONE
  }

  private track(subscriber: Subscriber): Set<number> {
    let ids = this.subscriptions.get(subscriber)
    if (!ids) this.subscriptions.set(subscriber, (ids = new Set()))
    return ids
  }

  private openChannel(conversationId: number): Channel {
    const channel: Channel = {
      conversationId,
      watermark: undefined,
      pending: new Map(),
      live: new Map(),
      syncing: new Map(),
      gapTimer: undefined,
      filling: false,
      outbox: [],
      flushTimer: undefined,
      nextFrameAt: 0,
    }
    this.channels.set(conversationId, channel)
    return channel
  }

  private closeChannel(channel: Channel): void {
    clearTimeout(channel.gapTimer)
    clearTimeout(channel.flushTimer)
    this.channels.delete(channel.conversationId)
  }

  private accept(channel: Channel, events: readonly EncodedEvent[]): void {
    for (const event of events) {
      if (channel.watermark === undefined || event.seq > channel.watermark) channel.pending.set(event.seq, event)
    }
    this.drain(channel)
  }

  /** Delivers the run of pending events that follows the watermark; waits for a missing seq. */
  private drain(channel: Channel): void {
    if (channel.watermark === undefined || channel.pending.size === 0) return
    const ready: EncodedEvent[] = []
    let next = channel.watermark + 1
    for (let event = channel.pending.get(next); event; event = channel.pending.get(++next)) {
      ready.push(event)
      channel.pending.delete(next)
    }
    channel.watermark = next - 1
    for (const seq of channel.pending.keys()) if (seq <= channel.watermark) channel.pending.delete(seq)
    if (ready.length > 0) this.queueFrame(channel, ready)
    if (channel.pending.size > 0) this.scheduleGapFill(channel)
    else {
      clearTimeout(channel.gapTimer)
      channel.gapTimer = undefined
    }
  }

  /** Sends the events now if the channel's spacing allows, or with its next frame. */
  private queueFrame(channel: Channel, events: EncodedEvent[]): void {
    channel.outbox.push(...events)
    if (channel.flushTimer) return
    const wait = channel.nextFrameAt - performance.now()
    if (wait <= 0) return this.flush(channel)
    channel.flushTimer = setTimeout(() => this.flush(channel), wait)
  }

  private flush(channel: Channel): void {
    channel.flushTimer = undefined
    const events = channel.outbox
    if (events.length === 0) return
    channel.outbox = []
    this.deliver(channel, events)
    const { coalesceUsPerSubscriber, coalesceMaxMs } = this.options
    channel.nextFrameAt = performance.now() + Math.min(coalesceMaxMs, (channel.live.size * coalesceUsPerSubscriber) / 1000)
  }

  /**
   * Delivers events in order. A member's removal splits them: the removed user's sockets get the
   * events up to and including it, then leave the channel before the rest is written.
   */
  private deliver(channel: Channel, events: EncodedEvent[]): void {
    let start = 0
    for (let i = 0; i < events.length; i++) {
      const removed = (events[i] as EncodedEvent).removes
      if (removed === undefined) continue
      this.deliverFrame(channel, events.slice(start, i + 1))
      this.cutOff(channel, removed)
      start = i + 1
    }
    if (start < events.length) this.deliverFrame(channel, start === 0 ? events : events.slice(start))
  }

  /** Ends the subscriptions of a removed member's sockets, live or still reading their backfill. */
  private cutOff(channel: Channel, userId: number): void {
    let frame: Buffer | undefined
    for (const subscriber of [...channel.live.keys(), ...channel.syncing.keys()]) {
      if (subscriber.userId !== userId) continue
      this.unsubscribe(subscriber, channel.conversationId)
      subscriber.send((frame ??= Buffer.from(JSON.stringify({ type: 'unsubscribed', conversationId: channel.conversationId, reason: 'removed' }))))
    }
  }

  /** One frame, serialised once and written to every live subscriber. */
  private deliverFrame(channel: Channel, events: EncodedEvent[]): void {
    const first = (events[0] as EncodedEvent).seq
    const last = (events[events.length - 1] as EncodedEvent).seq
    let frame: Buffer | undefined
    for (const [subscriber, sentThrough] of channel.live) {
      if (sentThrough >= last) continue
      // Only a subscriber whose backfill ran ahead of the stream needs a frame of its own.
      if (sentThrough < first) subscriber.send((frame ??= encodeEventsFrame(events)))
      else subscriber.send(encodeEventsFrame(events.filter((e) => e.seq > sentThrough)))
      channel.live.set(subscriber, last)
    }
    for (const relayedMeanwhile of channel.syncing.values()) relayedMeanwhile.push(...events)
  }

  private scheduleGapFill(channel: Channel): void {
    if (channel.gapTimer || channel.filling) return
    channel.gapTimer = setTimeout(() => void this.fillGap(channel), this.options.gapTimeoutMs)
    channel.gapTimer.unref()
  }

  /**
   * A seq that has not come by the stream in time (its writer died between COMMIT and XADD, or the
   * stream was trimmed or lost) is read from Postgres: once per node and gap, never per socket.
   */
  private async fillGap(channel: Channel): Promise<void> {
    channel.gapTimer = undefined
    if (this.channels.get(channel.conversationId) !== channel || channel.watermark === undefined) return
    channel.filling = true
    try {
      const from = channel.watermark
      const { events } = await this.options.readLog(channel.conversationId, from, this.options.resumeLimit)
      this.options.log.warn({ conversationId: channel.conversationId, from, read: events.length }, 'filled a seq gap from Postgres')
      this.accept(channel, events)
    } catch (err) {
      this.options.log.error({ err, conversationId: channel.conversationId }, 'filling a seq gap failed')
    } finally {
      channel.filling = false
      if (this.channels.get(channel.conversationId) === channel && channel.pending.size > 0) this.scheduleGapFill(channel)
    }
  }
}
