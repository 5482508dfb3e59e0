import type { Logger } from '../logger.js'
import type { ControlMessage, ConversationSignal, UserNotice } from '../protocol/envelopes.js'
import type { EncodedEvent } from '../protocol/events.js'
import type { RedisClient } from '../redis.js'
import { type Bus, type BusSink, type StreamLag, handOver } from './bus.js'
import { ShardCounts } from './shard-counts.js'
import { shardKeys, shardOf } from './shards.js'
import { type EntryFields, controlFields, eventFields, noticeFields, signalFields } from './stream-entries.js'
import { StreamReader } from './stream-reader.js'

export interface RedisStreamOptions {
  /** The stream's key, shared by every node of a deployment: shard 0's, and the base of the others'. */
  key: string
  /** How many streams the events are spread over (STREAM_SHARDS); 1 unless set. */
  shards?: number
  /** How often the node announces its shard count and reads the others'. */
  shardsRefreshMs?: number
  /** Approximate length, in entries, the streams together are trimmed to (XADD MAXLEN ~ on each). */
  maxLen: number
  batchSize?: number
  blockMs?: number
  /** Pause after a busy read (several items, not a full batch): fewer, fuller reads, frames and syscalls for a few ms of latency. */
  lingerMs?: number
  log: Logger
}

/** Most events one stream entry carries; more published in one turn of the event loop take several entries. */
const MAX_EVENTS_PER_ENTRY = 500

/** One publish waiting for its turn's XADD. */
interface Waiting {
  /** The conversation whose shard it goes to; none for what goes to shard 0 (control messages, notices). */
  conversationId: number | undefined
  fields: EntryFields
  resolve: () => void
  reject: (err: unknown) => void
}

/**
 * Redis streams as the shared queue: STREAM_SHARDS of them (one unless set). A conversation's events
 * and typing signals go to the shard its id picks, so they keep their order; control messages and
 * notices go to shard 0, which every node reads. Each node reads every shard, each with its own
 * reader and cursor (StreamReader), so a shard's streams may sit on different Redis Cluster masters.
 *
 * The items published in one turn of the event loop share one entry per shard (a batch of appends
 * commits at once): one XADD per shard for Redis to run and one entry for every node to read.
 */
export class RedisStreamBus implements Bus {
  private waiting: Waiting[] = []
  private flushScheduled = false
  private sink: BusSink | undefined
  /** The shards read, by index. */
  private readonly readers = new Map<number, StreamReader>()
  private readonly counts: ShardCounts
  private readonly shardKey: (index: number) => string
  private closed = false

  constructor(
    private readonly redis: RedisClient,
    private readonly options: RedisStreamOptions,
  ) {
    const shards = options.shards ?? 1
    this.shardKey = shardKeys(options.key)
    this.counts = new ShardCounts(redis, `${options.key}:shard-counts`, shards, options.shardsRefreshMs ?? 10_000, options.log, (plan) =>
      void this.read(plan.read),
    )
  }

  publish(event: EncodedEvent): Promise<void> {
    return this.enqueue(event.conversationId, eventFields(event))
  }

  publishControl(message: ControlMessage): Promise<void> {
    return this.enqueue(undefined, controlFields(message))
  }

  publishNotice(notice: UserNotice): Promise<void> {
    return this.enqueue(undefined, noticeFields(notice))
  }

  publishSignal(signal: ConversationSignal): Promise<void> {
    return this.enqueue(signal.conversationId, signalFields(signal))
  }

  private enqueue(conversationId: number | undefined, fields: EntryFields): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ conversationId, fields, resolve, reject })
      if (this.flushScheduled) return
      this.flushScheduled = true
      setImmediate(() => this.flush())
    })
  }

  /** One XADD per shard the turn touched, each of at most MAX_EVENTS_PER_ENTRY items, in publish order. */
  private flush(): void {
    const waiting = this.waiting
    this.waiting = []
    this.flushScheduled = false
    const { write } = this.counts.plan
    const byShard = new Map<number, Waiting[]>()
    for (const w of waiting) {
      const shard = w.conversationId === undefined ? 0 : shardOf(w.conversationId, write)
      const list = byShard.get(shard)
      if (list) list.push(w)
      else byShard.set(shard, [w])
    }
    const maxLen = Math.ceil(this.options.maxLen / write)
    for (const [shard, list] of byShard) {
      const key = this.shardKey(shard)
      for (let i = 0; i < list.length; i += MAX_EVENTS_PER_ENTRY) {
        const entry = list.slice(i, i + MAX_EVENTS_PER_ENTRY)
        this.redis.xadd(key, 'MAXLEN', '~', maxLen, '*', ...entry.flatMap((w) => w.fields)).then(
          () => entry.forEach((w) => w.resolve()),
          (err: unknown) => entry.forEach((w) => w.reject(err)),
        )
      }
    }
  }

  async consume(sink: BusSink): Promise<void> {
    if (this.sink) throw new Error('consume() was already called')
    this.sink = sink
    await this.counts.start()
    await this.read(this.counts.plan.read, { failHard: true })
  }

  /** Every node reads every shard: it gets every event, watched or not. */
  async watch(): Promise<void> {}

  unwatch(): void {}

  /**
   * Reads shards 0 … count − 1: starts the readers missing and resolves once they have started (a
   * failed start is logged and retried at the next refresh, or thrown with `failHard`), and closes
   * the readers past them.
   */
  private async read(count: number, { failHard = false } = {}): Promise<void> {
    const sink = this.sink
    if (!sink || this.closed) return
    const starting: Promise<void>[] = []
    for (let shard = 0; shard < count; shard++) {
      if (this.readers.has(shard)) continue
      const reader = new StreamReader(this.redis, this.shardKey(shard), this.readerOptions(), (items, entries) => {
        sink.onRead?.(entries)
        handOver(items, sink)
      })
      const started = reader.start().catch(async (err: unknown) => {
        this.readers.delete(shard)
        await reader.close()
        if (failHard) throw err
        this.options.log.error({ err, shard }, 'starting to read a stream shard failed; retrying at the next refresh')
      })
      this.readers.set(shard, reader)
      starting.push(started)
    }
    const stopping = [...this.readers].filter(([shard]) => shard >= count)
    for (const [shard] of stopping) this.readers.delete(shard)
    await Promise.all([...starting, ...stopping.map(([, reader]) => reader.close())])
  }

  private readerOptions() {
    const { batchSize = 1000, blockMs = 2000, lingerMs = 0, log } = this.options
    return { batchSize, blockMs, lingerMs, log }
  }

  /** Summed over the shards read (entries), or the furthest behind of them (seconds). */
  async lag(): Promise<StreamLag> {
    const lags = await Promise.all([...this.readers.values()].map((reader) => reader.lag()))
    let entries: number | undefined = 0
    let seconds = 0
    for (const lag of lags) {
      entries = entries === undefined || lag.entries === undefined ? undefined : entries + lag.entries
      seconds = Math.max(seconds, lag.seconds)
    }
    return { entries, seconds }
  }

  async close(): Promise<void> {
    this.closed = true
    this.counts.stop()
    await Promise.all([...this.readers.values()].map((reader) => reader.close()))
  }
}
