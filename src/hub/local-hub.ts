import type { Logger } from '../logger.js'
import type { ConversationSignal, UserNotice } from '../protocol/envelopes.js'
import type { EncodedEvent, EncodedLog } from '../protocol/events.js'
import { Channel, type ChannelOptions, type Sync } from './channel.js'
import { type Subscriber, UserSockets } from './sockets.js'

export type { Subscriber }

/**
 * The hub's one way to the store, provided by chat/: a conversation's last seq and, with afterSeq,
 * one page of the events after it (bounded by count and bytes). The page reaches the end when its
 * last event is the last seq.
 */
export type ReadLog = (conversationId: number, afterSeq: number | undefined) => Promise<EncodedLog>

/** A conversation's last seq, as the store has it. */
export interface LogHead {
  conversationId: number
  lastSeq: number
}

/**
 * How the hub tells the bus which conversations this node wants: a bus that routes by interest
 * brings a conversation's events only between watch() and unwatch().
 */
export interface Interest {
  /** Resolves once every event published for the conversation from then on will reach this node. */
  watch(conversationId: number): Promise<void>
  unwatch(conversationId: number): void
}

export interface LocalHubOptions extends ChannelOptions {
  interest: Interest
  /** Used to fill gaps: seqs that the stream did not bring in time. */
  readLog: ReadLog
  gapTimeoutMs: number
  log: Logger
}

const NONE: ReadonlySet<number> = new Set()

/**
 * This node's sockets: by user for notices, and by conversation in channels (channel.ts). It takes
 * what the bus brings and hands it to the channels and sockets it concerns, and fills the gaps that
 * channels find, once per node and gap, never per socket. It knows nothing of who may read what:
 * chat/resume.ts subscribes sockets through startSync() and goLive().
 */
export class LocalHub {
  private readonly channels = new Map<number, Channel>()
  /** Each channel's watch() on the bus, by conversation. */
  private readonly watches = new Map<number, Promise<void>>()
  private readonly subscriptions = new Map<Subscriber, Set<number>>()
  private readonly sockets: UserSockets
  private readonly gapTimers = new Map<Channel, NodeJS.Timeout>()
  private readonly filling = new Set<Channel>()
  private subscribed = 0

  constructor(private readonly options: LocalHubOptions) {
    this.sockets = new UserSockets(options.meter)
  }

  /** Whether any conversation has a subscriber on this node. */
  get watching(): boolean {
    return this.channels.size > 0
  }

  /** Conversations with a subscriber on this node. */
  get channelCount(): number {
    return this.channels.size
  }

  /** Subscriptions of this node's sockets, live or reading their backfill. */
  get subscriptionCount(): number {
    return this.subscribed
  }

  /** Registers a logged-in socket for its user's notices. */
  addSocket(subscriber: Subscriber & { userId: number }): void {
    this.sockets.add(subscriber)
  }

  /** Forgets a socket that closed. */
  removeSubscriber(subscriber: Subscriber): void {
    this.sockets.remove(subscriber)
    const ids = this.subscriptions.get(subscriber)
    if (!ids) return
    for (const id of [...ids]) this.unsubscribe(subscriber, id)
    this.subscriptions.delete(subscriber)
  }

  notify(notice: UserNotice): void {
    this.sockets.notify(notice)
  }

  signal(signal: ConversationSignal): void {
    this.channels.get(signal.conversationId)?.signal(signal.json, signal.exceptUserId)
  }

  /** Takes a batch from the stream. Events for conversations with no local subscriber are dropped. */
  relay(events: readonly EncodedEvent[]): void {
    let byChannel: Map<Channel, EncodedEvent[]> | undefined
    let wanted = 0
    for (const event of events) {
      const channel = this.channels.get(event.conversationId)
      if (!channel) continue
      wanted++
      byChannel ??= new Map()
      const list = byChannel.get(channel)
      if (list) list.push(event)
      else byChannel.set(channel, [event])
    }
    this.options.meter?.received(events.length, wanted)
    if (!byChannel) return
    for (const [channel, list] of byChannel) {
      channel.accept(list)
      this.watchGap(channel)
    }
  }

  /** Takes the heads of conversations as the store has them: a channel that is behind one reads what it missed. */
  catchUp(heads: readonly LogHead[]): void {
    for (const { conversationId, lastSeq } of heads) {
      const channel = this.channels.get(conversationId)
      if (channel?.advanceHead(lastSeq)) this.watchGap(channel)
    }
  }

  /**
   * Starts a subscription whose backfill is about to be read: from here on the channel keeps what it
   * relays for the subscriber, until goLive(). Subscribing again starts over.
   */
  startSync(subscriber: Subscriber, conversationId: number): Sync {
    this.unsubscribe(subscriber, conversationId)
    let channel = this.channels.get(conversationId)
    if (!channel) {
      channel = new Channel(conversationId, this.options, (cutOff) => this.unsubscribe(cutOff, conversationId))
      this.channels.set(conversationId, channel)
      this.watches.set(conversationId, this.options.interest.watch(conversationId))
    }
    let ids = this.subscriptions.get(subscriber)
    if (!ids) this.subscriptions.set(subscriber, (ids = new Set()))
    ids.add(conversationId)
    this.subscribed++
    return channel.startSync(subscriber)
  }

  /** Resolves once the bus brings every event of the sync's conversation: its backfill is read after that. */
  watched(sync: Sync): Promise<void> {
    return this.watches.get(sync.conversationId) ?? Promise.resolve()
  }

  /** Whether the subscription is still the one startSync() began (the socket did not close or subscribe again, and no removal ended it). */
  isSyncing(sync: Sync): boolean {
    return this.channels.get(sync.conversationId)?.isSyncing(sync) ?? false
  }

  /** The subscriber's read of the log saw it up to `lastSeq`. */
  logRead(sync: Sync, lastSeq: number): void {
    const channel = this.channels.get(sync.conversationId)
    if (!channel?.isSyncing(sync)) return
    channel.logRead(sync, lastSeq)
    this.watchGap(channel)
  }

  /** Makes a subscription live once its backfill went up to `sentThrough`; answers the seq it has then been sent up to. */
  goLive(sync: Sync, sentThrough: number): number {
    const channel = this.channels.get(sync.conversationId)
    if (!channel?.isSyncing(sync)) return sentThrough
    const lastSeq = channel.goLive(sync, sentThrough)
    this.watchGap(channel)
    return lastSeq
  }

  unsubscribe(subscriber: Subscriber, conversationId: number): void {
    if (this.subscriptions.get(subscriber)?.delete(conversationId)) this.subscribed--
    const channel = this.channels.get(conversationId)
    if (!channel) return
    channel.remove(subscriber)
    if (!channel.empty) return
    channel.close()
    clearTimeout(this.gapTimers.get(channel))
    this.gapTimers.delete(channel)
    this.channels.delete(conversationId)
    this.watches.delete(conversationId)
    this.options.interest.unwatch(conversationId)
  }

  /** The conversations a subscriber is subscribed to, or reading the backfill of. */
  subscriptionsOf(subscriber: Subscriber): ReadonlySet<number> {
    return this.subscriptions.get(subscriber) ?? NONE
  }

  /** A channel that is behind gets a gap fill once the stream has had gapTimeoutMs to bring what is missing. */
  private watchGap(channel: Channel): void {
    // A removal may have cut off the channel's last subscriber meanwhile, and closed it.
    if (this.channels.get(channel.conversationId) !== channel) return
    if (!channel.behind) {
      clearTimeout(this.gapTimers.get(channel))
      this.gapTimers.delete(channel)
      return
    }
    if (this.gapTimers.has(channel) || this.filling.has(channel)) return
    const timer = setTimeout(() => {
      this.gapTimers.delete(channel)
      void this.fillGap(channel)
    }, this.options.gapTimeoutMs)
    timer.unref()
    this.gapTimers.set(channel, timer)
  }

  /**
   * A seq that has not come by the stream in time (its writer died between COMMIT and XADD, or the
   * stream was trimmed or lost), or that the log heads say exists, is read from the store: once per
   * node and gap, never per socket, a page at a time.
   */
  private async fillGap(channel: Channel): Promise<void> {
    const from = channel.relayedThrough
    if (this.channels.get(channel.conversationId) !== channel || from === undefined) return
    const { conversationId } = channel
    this.filling.add(channel)
    let cut = false
    try {
      const log = await this.options.readLog(conversationId, from)
      this.options.log.warn({ conversationId, from, read: log.events.length }, 'filled a seq gap from Postgres')
      this.options.meter?.gapFilled(log.events.length)
      channel.advanceHead(log.lastSeq)
      channel.accept(log.events)
      cut = (log.events[log.events.length - 1]?.seq ?? from) < log.lastSeq
    } catch (err) {
      this.options.log.error({ err, conversationId }, 'filling a seq gap failed')
    } finally {
      this.filling.delete(channel)
      if (this.channels.get(conversationId) === channel) {
        // A page that was cut goes on at once; anything else still missing waits for the stream again.
        if (cut) void this.fillGap(channel)
        else this.watchGap(channel)
      }
    }
  }
}
