import { setTimeout as sleep } from 'node:timers/promises'
import { Cluster } from 'ioredis'
import { type Logger, logRedisErrors, rateLimitedLog } from '../logger.js'
import type { ControlMessage, ConversationSignal, UserNotice } from '../protocol/envelopes.js'
import type { EncodedEvent } from '../protocol/events.js'
import { type Bus, type BusItem, type BusSink, type StreamLag, handOver } from './bus.js'
import type { RedisStreamBus } from './redis-stream.js'
import { type EntryFields, decodeEntry, eventFields, signalFields } from './stream-entries.js'
import type { RedisClient } from '../redis.js'

export interface RedisPubSubOptions {
  /** The base of the conversations' channel names, shared by every node of a deployment. */
  key: string
  log: Logger
}

/** The sharded Pub/Sub channel of a conversation's events and typing signals, under the bus's key. */
export const liveChannel = (key: string, conversationId: number): string => `${key}:live:${conversationId}`

/** Most items one message carries; more for one conversation in one turn take several messages. */
const MAX_ITEMS_PER_MESSAGE = 500

/** A subscription that failed is tried again after this long, for as long as the conversation is watched. */
const RESUBSCRIBE_MS = 1000

/** One publish waiting for its turn's SPUBLISH. */
interface Waiting {
  fields: EntryFields
  resolve: () => void
  reject: (err: unknown) => void
}

/**
 * Sharded Pub/Sub needs a connection in subscriber mode: on a Redis Cluster, ioredis' sharded
 * subscribers (one per master, following failovers), else a connection of its own. Its first
 * subscriptions may come before it is connected: they wait for it.
 */
function subscriberConnection(client: RedisClient): RedisClient {
  if (client instanceof Cluster) return client.duplicate(undefined, { ...client.options, shardedSubscribers: true, enableOfflineQueue: true })
  return client.duplicate({ enableAutoPipelining: false })
}

/**
 * Live delivery by interest. A conversation's events and typing signals are published (SPUBLISH) on
 * a sharded Pub/Sub channel of its own, which a node subscribes to (SSUBSCRIBE) while one of its
 * sockets watches the conversation: Redis sends each event only to the nodes that want it, and on a
 * Redis Cluster each channel lives on the master of its slot. Control messages and notices, which
 * any node may need, go by the stream (shard 0), which every node reads.
 *
 * Pub/Sub keeps nothing. What a node misses (its subscriber connection dropped, a master failed
 * over) it reads from Postgres, as it does a lost stream entry: the next event shows the gap, and
 * the log heads bring a conversation's last events when nothing follows them.
 */
export class RedisPubSubBus implements Bus {
  private subscriber: RedisClient | undefined
  private waiting = new Map<number, Waiting[]>()
  private flushScheduled = false
  /** What arrived since the last hand-over: handed over together, once per turn of the event loop. */
  private arrived: BusItem[] = []
  private readonly watched = new Set<number>()
  private closed = false
  private readonly subscribeFailed: (fields: object) => void

  constructor(
    private readonly redis: RedisClient,
    /** Carries control messages and notices. */
    private readonly stream: RedisStreamBus,
    private readonly options: RedisPubSubOptions,
  ) {
    this.subscribeFailed = rateLimitedLog(options.log, 'warn', 'subscribing to a conversation failed; retrying')
  }

  private channel(conversationId: number): string {
    return liveChannel(this.options.key, conversationId)
  }

  publish(event: EncodedEvent): Promise<void> {
    return this.enqueue(event.conversationId, eventFields(event))
  }

  publishSignal(signal: ConversationSignal): Promise<void> {
    return this.enqueue(signal.conversationId, signalFields(signal))
  }

  publishControl(message: ControlMessage): Promise<void> {
    return this.stream.publishControl(message)
  }

  publishNotice(notice: UserNotice): Promise<void> {
    return this.stream.publishNotice(notice)
  }

  private enqueue(conversationId: number, fields: EntryFields): Promise<void> {
    return new Promise((resolve, reject) => {
      const list = this.waiting.get(conversationId)
      if (list) list.push({ fields, resolve, reject })
      else this.waiting.set(conversationId, [{ fields, resolve, reject }])
      if (this.flushScheduled) return
      this.flushScheduled = true
      setImmediate(() => this.flush())
    })
  }

  /** One SPUBLISH per conversation the turn touched, its items in publish order. */
  private flush(): void {
    const waiting = this.waiting
    this.waiting = new Map()
    this.flushScheduled = false
    for (const [conversationId, list] of waiting) {
      for (let i = 0; i < list.length; i += MAX_ITEMS_PER_MESSAGE) {
        const message = list.slice(i, i + MAX_ITEMS_PER_MESSAGE)
        this.redis.spublish(this.channel(conversationId), JSON.stringify(message.flatMap((w) => w.fields.map(String)))).then(
          () => message.forEach((w) => w.resolve()),
          (err: unknown) => message.forEach((w) => w.reject(err)),
        )
      }
    }
  }

  async consume(sink: BusSink): Promise<void> {
    if (this.subscriber) throw new Error('consume() was already called')
    const subscriber = subscriberConnection(this.redis)
    this.subscriber = subscriber
    logRedisErrors(subscriber, this.options.log, 'conversation subscriber')
    subscriber.on('smessage', (channel: string, message: string) => this.arrive(channel, message, sink))
    await this.stream.consume(sink)
  }

  /** A message's items join the turn's; a malformed message is logged and left out whole. */
  private arrive(channel: string, message: string, sink: BusSink): void {
    let fields: unknown
    try {
      fields = JSON.parse(message)
    } catch {
      fields = undefined
    }
    const items = Array.isArray(fields) && fields.every((field) => typeof field === 'string') ? decodeEntry(fields) : undefined
    if (!items) {
      this.options.log.warn({ channel }, 'skipped a malformed conversation message')
      return
    }
    if (this.arrived.length === 0) setImmediate(() => this.handOver(sink))
    for (const item of items) this.arrived.push(item)
  }

  private handOver(sink: BusSink): void {
    const items = this.arrived
    this.arrived = []
    if (!this.closed) handOver(items, sink)
  }

  async watch(conversationId: number): Promise<void> {
    this.watched.add(conversationId)
    if (!(await this.subscribe(conversationId))) void this.keepSubscribing(conversationId)
  }

  unwatch(conversationId: number): void {
    this.watched.delete(conversationId)
    this.subscriber?.sunsubscribe(this.channel(conversationId)).catch((err: unknown) => this.subscribeFailed({ err, conversationId }))
  }

  /** Answers whether the subscription holds; a failure is logged. */
  private async subscribe(conversationId: number): Promise<boolean> {
    if (!this.subscriber || this.closed) return true
    try {
      await this.subscriber.ssubscribe(this.channel(conversationId))
      return true
    } catch (err) {
      this.subscribeFailed({ err, conversationId })
      return false
    }
  }

  /** Tries again while the conversation is watched; meanwhile its events come by the recovery paths. */
  private async keepSubscribing(conversationId: number): Promise<void> {
    while (this.watched.has(conversationId) && !this.closed) {
      await sleep(RESUBSCRIBE_MS)
      if (!this.watched.has(conversationId) || (await this.subscribe(conversationId))) return
    }
  }

  lag(): Promise<StreamLag> {
    return this.stream.lag()
  }

  async close(): Promise<void> {
    this.closed = true
    this.subscriber?.disconnect()
    await this.stream.close()
  }
}
