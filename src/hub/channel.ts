import { type EncodedEvent, encodeEventsFrames } from '../protocol/events.js'
import { removedFrame } from '../protocol/frames.js'
import type { HubMeter } from './meter.js'
import type { Subscriber } from './sockets.js'

export interface ChannelOptions {
  /** Most events, and bytes of them, held for a subscriber while its backfill is written; past either it resumes again. */
  backlogMaxEvents: number
  backlogMaxBytes: number
  /**
   * Frames of a channel are spaced at least (local subscribers × this) µs apart, at most
   * coalesceMaxMs; events that come meanwhile share the next frame. A frame costs a write per
   * socket, so this bounds the time one busy conversation can take from the node.
   */
  coalesceUsPerSubscriber: number
  coalesceMaxMs: number
  meter?: HubMeter
}

/**
 * A subscriber of a channel whose backfill is being read or written (chat/resume.ts writes it), and
 * what the channel relayed meanwhile.
 */
export class Sync {
  /** The conversation's last seq when its log was read; undefined while it is being read. */
  readThrough: number | undefined
  /** Events relayed meanwhile, in seq order, to be sent after the backfill. */
  backlog: EncodedEvent[] = []
  backlogBytes = 0
  /** The backlog grew past its bound and was dropped: the subscriber must resume again. */
  overflowed = false
  /** The seq of a member.removed event that ends this subscription once it is sent. */
  removedAt: number | undefined

  constructor(
    readonly subscriber: Subscriber,
    readonly conversationId: number,
  ) {}

  /** Empties the backlog: the events in it after `sentThrough`, up to a removal that ends the subscription. */
  takeBacklog(sentThrough: number): EncodedEvent[] {
    const end = this.removedAt ?? Number.MAX_SAFE_INTEGER
    const newer = this.backlog.filter((e) => e.seq > sentThrough && e.seq <= end)
    this.backlog = []
    this.backlogBytes = 0
    return newer
  }

  /** Whether a removal ends the subscription once the events up to `sentThrough` are sent. */
  endsAt(sentThrough: number): boolean {
    return this.removedAt !== undefined && sentThrough >= this.removedAt
  }
}

/**
 * This node's view of one conversation that has local subscribers: it turns the conversation's
 * events, in whatever order the stream brought them, into frames in seq order, spaced so that a
 * busy conversation shares frames, written once per frame to every live subscriber. It knows what
 * it has not seen (`behind`) but reads nothing: its owner fills the gaps.
 */
export class Channel {
  /** Highest seq relayed in order; undefined until the first subscriber's read tells the starting point. */
  private watermark: number | undefined
  /** Events that arrived ahead of a missing seq (writers on several nodes XADD in any order). */
  private readonly pending = new Map<number, EncodedEvent>()
  /** Live subscribers and the seq each has been sent up to. */
  private readonly live = new Map<Subscriber, number>()
  /** Subscribers whose backfill is being read or written. */
  private readonly syncing = new Map<Subscriber, Sync>()
  /** The highest seq known to be committed (from log reads and log heads); past the watermark, it is a gap to fill. */
  private head = 0
  /** Events in seq order, past the watermark, that wait for the channel's next frame. */
  private outbox: EncodedEvent[] = []
  private flushTimer: NodeJS.Timeout | undefined
  /** performance.now() before which the channel sends no further frame. */
  private nextFrameAt = 0

  constructor(
    readonly conversationId: number,
    private readonly options: ChannelOptions,
    /** Ends the subscription of a subscriber that a removal cut off. */
    private readonly cutOff: (subscriber: Subscriber) => void,
  ) {}

  get empty(): boolean {
    return this.live.size === 0 && this.syncing.size === 0
  }

  /** Whether seqs are known to exist that have not been relayed in order: events wait on a missing one, or the head is past the watermark. */
  get behind(): boolean {
    return this.watermark !== undefined && (this.pending.size > 0 || this.head > this.watermark)
  }

  /** Where a gap fill starts reading; undefined before the starting point is known. */
  get relayedThrough(): number | undefined {
    return this.watermark
  }

  has(subscriber: Subscriber): boolean {
    return this.live.has(subscriber) || this.syncing.has(subscriber)
  }

  /** Takes events of this conversation, in any order, repeated or not, and relays what is now in order. */
  accept(events: readonly EncodedEvent[]): void {
    for (const event of events) {
      if (this.watermark === undefined || event.seq > this.watermark) this.pending.set(event.seq, event)
    }
    this.drain()
  }

  /** The log has at least `lastSeq`; answers whether that is news. */
  advanceHead(lastSeq: number): boolean {
    if (lastSeq <= this.head) return false
    this.head = lastSeq
    return true
  }

  startSync(subscriber: Subscriber): Sync {
    const sync = new Sync(subscriber, this.conversationId)
    this.syncing.set(subscriber, sync)
    return sync
  }

  isSyncing(sync: Sync): boolean {
    return this.syncing.get(sync.subscriber) === sync
  }

  /**
   * The subscriber's read of the log saw it up to `lastSeq`. A new channel starts there (and relays
   * what arrived before its starting point was known).
   */
  logRead(sync: Sync, lastSeq: number): void {
    sync.readThrough = lastSeq
    // A removal the read already saw came before this subscription, which was authorised after it.
    if (sync.removedAt !== undefined && sync.removedAt <= lastSeq) sync.removedAt = undefined
    this.watermark ??= lastSeq
    this.advanceHead(lastSeq)
    this.drain()
  }

  /** Switches a subscriber whose backfill went up to `sentThrough` to live events; answers the seq it is then sent up to. */
  goLive(sync: Sync, sentThrough: number): number {
    this.syncing.delete(sync.subscriber)
    this.live.set(sync.subscriber, sentThrough)
    this.drain()
    return this.live.get(sync.subscriber) ?? sentThrough
  }

  remove(subscriber: Subscriber): void {
    this.live.delete(subscriber)
    this.syncing.delete(subscriber)
  }

  /** Writes a frame that is not an event (typing), serialised once, to the live subscribers but one user's sockets. */
  signal(json: string, exceptUserId: number): void {
    let frame: Buffer | undefined
    let skipped = 0
    for (const subscriber of this.live.keys()) {
      if (subscriber.userId === exceptUserId) {
        skipped++
        continue
      }
      subscriber.send((frame ??= Buffer.from(json)))
    }
    if (frame) this.options.meter?.wrote('typing', [frame], this.live.size - skipped)
  }

  close(): void {
    clearTimeout(this.flushTimer)
  }

  /** Delivers the run of pending events that follows the watermark; a missing seq holds back the rest. */
  private drain(): void {
    if (this.watermark === undefined || this.pending.size === 0) return
    const ready: EncodedEvent[] = []
    let next = this.watermark + 1
    for (let event = this.pending.get(next); event; event = this.pending.get(++next)) {
      ready.push(event)
      this.pending.delete(next)
    }
    this.watermark = next - 1
    for (const seq of this.pending.keys()) if (seq <= this.watermark) this.pending.delete(seq)
    if (ready.length > 0) this.queueFrame(ready)
  }

  /** Sends the events now if the channel's spacing allows, or with its next frame. */
  private queueFrame(events: EncodedEvent[]): void {
    this.outbox.push(...events)
    if (this.flushTimer) return
    const wait = this.nextFrameAt - performance.now()
    if (wait <= 0) return this.flush()
    this.flushTimer = setTimeout(() => this.flush(), wait)
  }

  private flush(): void {
    this.flushTimer = undefined
    const events = this.outbox
    if (events.length === 0) return
    this.outbox = []
    this.deliver(events)
    const { coalesceUsPerSubscriber, coalesceMaxMs } = this.options
    this.nextFrameAt = performance.now() + Math.min(coalesceMaxMs, (this.live.size * coalesceUsPerSubscriber) / 1000)
  }

  /**
   * Delivers events in order. A member's removal splits them: the removed user's sockets get the
   * events up to and including it, then leave the channel before the rest is written.
   */
  private deliver(events: EncodedEvent[]): void {
    let start = 0
    for (let i = 0; i < events.length; i++) {
      const { removes, seq } = events[i] as EncodedEvent
      if (removes === undefined) continue
      const removed = this.subscribedBefore(removes, seq)
      this.deliverFrames(events.slice(start, i + 1))
      this.endSubscriptions(removed, seq)
      start = i + 1
    }
    if (start < events.length) this.deliverFrames(start === 0 ? events : events.slice(start))
  }

  /**
   * The user's subscribers whose subscription started before the removal at `seq`: a subscriber
   * whose backfill already went past it subscribed afterwards, and was authorised then.
   */
  private subscribedBefore(userId: number, seq: number): Subscriber[] {
    const found: Subscriber[] = []
    for (const [subscriber, sentThrough] of this.live) if (subscriber.userId === userId && sentThrough < seq) found.push(subscriber)
    for (const [subscriber, sync] of this.syncing) {
      if (subscriber.userId === userId && (sync.readThrough === undefined || sync.readThrough < seq)) found.push(subscriber)
    }
    return found
  }

  /**
   * Ends the subscriptions of a removed member's sockets. A live one is told at once; one whose
   * backfill is being written is told after the events up to the removal (by whoever writes it).
   */
  private endSubscriptions(subscribers: readonly Subscriber[], seq: number): void {
    let frame: Buffer | undefined
    for (const subscriber of subscribers) {
      const sync = this.syncing.get(subscriber)
      if (sync) {
        sync.removedAt = seq
        continue
      }
      this.cutOff(subscriber)
      subscriber.send((frame ??= removedFrame(this.conversationId)))
    }
  }

  /** Frames, serialised once and written to every live subscriber; the events are kept for those whose backfill runs. */
  private deliverFrames(events: EncodedEvent[]): void {
    const first = (events[0] as EncodedEvent).seq
    const last = (events[events.length - 1] as EncodedEvent).seq
    const meter = this.options.meter
    let frames: Buffer[] | undefined
    // The shared frames are counted once, after the loop: for every live subscriber but the few
    // whose backfill ran ahead of the stream, which skip them or get frames of their own.
    let sharing = this.live.size
    for (const [subscriber, sentThrough] of this.live) {
      let own: Buffer[]
      if (sentThrough < first) own = frames ??= encodeEventsFrames(events)
      else {
        sharing--
        if (sentThrough >= last) continue
        own = encodeEventsFrames(events.filter((e) => e.seq > sentThrough))
        meter?.wrote('events', own, 1)
      }
      for (const frame of own) subscriber.send(frame)
      this.live.set(subscriber, last)
    }
    if (frames) meter?.wrote('events', frames, sharing)
    if (this.live.size > 0) meter?.relayed(events.length)
    for (const sync of this.syncing.values()) this.hold(sync, events)
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
}
