import type { Logger } from '../logger.js'
import type { ConversationSignal, UserNotice } from '../protocol/envelopes.js'
import type { EncodedEvent, EncodedLog } from '../protocol/events.js'
import { ChatError } from '../errors.js'
import type { LogHead } from '../storage/messages.js'
import { encodeEventsFrames } from '../protocol/frames.js'

const NONE: ReadonlySet<number> = new Set()

/** A local socket as the hub sees it. */
export interface Subscriber {
  /** The socket's user; undefined for someone not logged in. */
  readonly userId: number | undefined
  /** Writes a ready-made frame; the socket may close itself instead when it cannot keep up. */
  send(frame: Buffer): void
  /**
   * Writes a frame of the server's own backfill and resolves once it has left this process (true),
   * or once the socket has closed (false). Backfill goes one frame at a time this way, so it never
   * piles up in a socket that reads slowly, and never counts against the slow-consumer bound.
   */
  sendBackfill(frame: Buffer): Promise<boolean>
}

/**
 * Reads a conversation's log from the store: its last seq and, with afterSeq, one page of the events
 * after it (bounded by count and bytes). The page reaches the end when its last event is the last seq.
 */
export type ReadLog = (conversationId: number, afterSeq: number | undefined) => Promise<EncodedLog>

export interface SubscribeResult {
  /** Every event up to this seq has been sent to the subscriber. */
  lastSeq: number
  /** False when more events were missed than one resume sends: the subscriber is not live and should resume again from lastSeq. */
  complete: boolean
}

/** A subscriber whose backfill is being read or written, and what the channel relayed meanwhile. */
interface Sync {
  /** The conversation's last seq when its log was read; undefined while it is being read. */
  readThrough: number | undefined
  /** Events relayed meanwhile, in seq order, to be sent after the backfill. */
  backlog: EncodedEvent[]
  backlogBytes: number
  /** The backlog grew past its bound and was dropped: the subscriber must resume again. */
  overflowed: boolean
  /** The seq of a member.removed event that ends this subscription once it is sent. */
  removedAt: number | undefined
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
  /** Subscribers whose backfill is being read or written. */
  readonly syncing: Map<Subscriber, Sync>
  /** The highest seq known to be committed (from log reads and log heads); past the watermark, it is a gap to fill. */
  head: number
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
  /** Most events, and bytes of them, held for a subscriber while its backfill is written; past either it resumes again. */
  backlogMaxEvents: number
  backlogMaxBytes: number
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

  /** Whether any conversation has a subscriber on this node. */
  get watching(): boolean {
    return this.channels.size > 0
  }

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

  /** Takes the heads of conversations as Postgres has them: a channel that is behind one reads what it missed. */
  catchUp(heads: readonly LogHead[]): void {
    for (const { conversationId, lastSeq } of heads) {
      const channel = this.channels.get(conversationId)
      if (!channel || lastSeq <= channel.head) continue
      channel.head = lastSeq
      this.drain(channel)
    }
  }

  /**
   * Subscribes to a conversation. With afterSeq, first sends one page of the events after it from the
   * store, one frame at a time as the socket takes them, then the events relayed meanwhile, and
   * switches to live events with no gap and no duplicate. Subscribing again starts over. Resolves to
   * undefined when the subscription ended while its backfill was read or written (the socket closed,
   * or a removal ended it, which the socket is told).
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
    const sync: Sync = { readThrough: undefined, backlog: [], backlogBytes: 0, overflowed: false, removedAt: undefined }
    channel.syncing.set(subscriber, sync)
    this.track(subscriber).add(conversationId)

    let log: EncodedLog
    try {
      log = await this.options.readLog(conversationId, afterSeq)
      await authorise()
    } catch (err) {
      this.unsubscribe(subscriber, conversationId)
      throw err
    }
    if (channel.syncing.get(subscriber) !== sync) return undefined
    if (afterSeq !== undefined && afterSeq > log.lastSeq) {
      this.unsubscribe(subscriber, conversationId)
      throw new ChatError('invalid', `afterSeq ${afterSeq} is past the conversation's last seq ${log.lastSeq}`)
    }
    sync.readThrough = log.lastSeq
    // A removal the read already saw came before this subscription: authorise() judged it.
    if (sync.removedAt !== undefined && sync.removedAt <= log.lastSeq) sync.removedAt = undefined
    channel.watermark ??= log.lastSeq
    channel.head = Math.max(channel.head, log.lastSeq)
    // A new channel may hold events that arrived before its starting point was known.
    this.drain(channel)

    let sentThrough = afterSeq ?? log.lastSeq
    if (!(await this.backfill(subscriber, channel, sync, log.events))) return undefined
    sentThrough = log.events[log.events.length - 1]?.seq ?? sentThrough
    if (sentThrough < log.lastSeq) {
      // The page was cut (count or bytes): the subscriber asks again from where it ends.
      this.unsubscribe(subscriber, conversationId)
      return { lastSeq: sentThrough, complete: false }
    }
    // What the channel relayed meanwhile goes the same way, until nothing is left to send.
    for (;;) {
      if (sync.overflowed) {
        this.unsubscribe(subscriber, conversationId)
        return { lastSeq: sentThrough, complete: false }
      }
      const end = sync.removedAt ?? Number.MAX_SAFE_INTEGER
      const newer = sync.backlog.filter((e) => e.seq > sentThrough && e.seq <= end)
      sync.backlog = []
      sync.backlogBytes = 0
      if (newer.length > 0) {
        if (!(await this.backfill(subscriber, channel, sync, newer))) return undefined
        sentThrough = (newer[newer.length - 1] as EncodedEvent).seq
        continue
      }
      if (sentThrough >= end) {
        this.unsubscribe(subscriber, conversationId)
        await subscriber.sendBackfill(removedFrame(conversationId))
        return undefined
      }
      break
    }
    channel.syncing.delete(subscriber)
    channel.live.set(subscriber, sentThrough)
    this.drain(channel)
    return { lastSeq: channel.live.get(subscriber) ?? sentThrough, complete: true }
  }

  /**
   * Writes events to a subscriber whose backfill runs, each frame once the one before has left the
   * process. False when the subscription ended meanwhile (the socket closed).
   */
  private async backfill(subscriber: Subscriber, channel: Channel, sync: Sync, events: readonly EncodedEvent[]): Promise<boolean> {
    if (events.length === 0) return true
    for (const frame of encodeEventsFrames(events)) {
      const written = await subscriber.sendBackfill(frame)
      if (channel.syncing.get(subscriber) !== sync) return false
      if (!written) {
        this.unsubscribe(subscriber, channel.conversationId)
        return false
      }
    }
    return true
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
      head: 0,
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
    if (channel.watermark === undefined) return
    if (channel.pending.size > 0) {
      const ready: EncodedEvent[] = []
      let next = channel.watermark + 1
      for (let event = channel.pending.get(next); event; event = channel.pending.get(++next)) {
        ready.push(event)
        channel.pending.delete(next)
      }
      channel.watermark = next - 1
      for (const seq of channel.pending.keys()) if (seq <= channel.watermark) channel.pending.delete(seq)
      if (ready.length > 0) this.queueFrame(channel, ready)
    }
    if (channel.pending.size > 0 || channel.head > channel.watermark) this.scheduleGapFill(channel)
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
      const { removes, seq } = events[i] as EncodedEvent
      if (removes === undefined) continue
      const removed = this.subscribedBefore(channel, removes, seq)
      this.deliverFrames(channel, events.slice(start, i + 1))
      this.cutOff(channel, removed, seq)
      start = i + 1
    }
    if (start < events.length) this.deliverFrames(channel, start === 0 ? events : events.slice(start))
  }

  /**
   * The user's subscribers in the channel whose subscription started before the removal at `seq`: a
   * subscriber whose backfill already went past it subscribed afterwards, and was authorised then.
   */
  private subscribedBefore(channel: Channel, userId: number, seq: number): Subscriber[] {
    const found: Subscriber[] = []
    for (const [subscriber, sentThrough] of channel.live) if (subscriber.userId === userId && sentThrough < seq) found.push(subscriber)
    for (const [subscriber, sync] of channel.syncing) {
      if (subscriber.userId === userId && (sync.readThrough === undefined || sync.readThrough < seq)) found.push(subscriber)
    }
    return found
  }

  /**
   * Ends the subscriptions of a removed member's sockets. A live one is told at once; one whose
   * backfill is being written is told after the events up to the removal (subscribe() does it).
   */
  private cutOff(channel: Channel, subscribers: readonly Subscriber[], seq: number): void {
    let frame: Buffer | undefined
    for (const subscriber of subscribers) {
      const sync = channel.syncing.get(subscriber)
      if (sync) {
        sync.removedAt = seq
        continue
      }
      this.unsubscribe(subscriber, channel.conversationId)
      subscriber.send((frame ??= removedFrame(channel.conversationId)))
    }
  }

  /** Frames, serialised once and written to every live subscriber; the events are kept for those whose backfill runs. */
  private deliverFrames(channel: Channel, events: EncodedEvent[]): void {
    const first = (events[0] as EncodedEvent).seq
    const last = (events[events.length - 1] as EncodedEvent).seq
    let frames: Buffer[] | undefined
    for (const [subscriber, sentThrough] of channel.live) {
      if (sentThrough >= last) continue
      // Only a subscriber whose backfill ran ahead of the stream needs frames of its own.
      const own = sentThrough < first ? (frames ??= encodeEventsFrames(events)) : encodeEventsFrames(events.filter((e) => e.seq > sentThrough))
      for (const frame of own) subscriber.send(frame)
      channel.live.set(subscriber, last)
    }
    for (const sync of channel.syncing.values()) this.hold(sync, events)
  }

  /** Keeps relayed events for a subscriber whose backfill runs, within the backlog's bounds. */
  private hold(sync: Sync, events: readonly EncodedEvent[]): void {
    if (sync.overflowed) return
    for (const event of events) {
      sync.backlog.push(event)
      sync.backlogBytes += event.json.length
    }
    if (sync.backlog.length > this.options.backlogMaxEvents || sync.backlogBytes > this.options.backlogMaxBytes) {
      sync.overflowed = true
      sync.backlog = []
      sync.backlogBytes = 0
    }
  }

  private scheduleGapFill(channel: Channel): void {
    if (channel.gapTimer || channel.filling) return
    channel.gapTimer = setTimeout(() => void this.fillGap(channel), this.options.gapTimeoutMs)
    channel.gapTimer.unref()
  }

  /**
   * A seq that has not come by the stream in time (its writer died between COMMIT and XADD, or the
   * stream was trimmed or lost), or that the log heads say exists, is read from Postgres: once per
   * node and gap, never per socket, a page at a time.
   */
  private async fillGap(channel: Channel): Promise<void> {
    channel.gapTimer = undefined
    if (this.channels.get(channel.conversationId) !== channel || channel.watermark === undefined) return
    channel.filling = true
    let cut = false
    try {
      const from = channel.watermark
      const log = await this.options.readLog(channel.conversationId, from)
      this.options.log.warn({ conversationId: channel.conversationId, from, read: log.events.length }, 'filled a seq gap from Postgres')
      channel.head = Math.max(channel.head, log.lastSeq)
      this.accept(channel, log.events)
      cut = (log.events[log.events.length - 1]?.seq ?? from) < log.lastSeq
    } catch (err) {
      this.options.log.error({ err, conversationId: channel.conversationId }, 'filling a seq gap failed')
    } finally {
      channel.filling = false
      if (this.channels.get(channel.conversationId) === channel) {
        // A page that was cut goes on at once; anything else still missing waits for the stream again.
        if (cut) void this.fillGap(channel)
        else this.drain(channel)
      }
    }
  }
}

/** Tells a socket that a removal ended its subscription. */
function removedFrame(conversationId: number): Buffer {
  return Buffer.from(JSON.stringify({ type: 'unsubscribed', conversationId, reason: 'removed' }))
}
