import type { Logger } from '../logger.js'
import type { ControlMessage, ConversationSignal, UserNotice } from '../protocol/envelopes.js'
import type { EncodedEvent } from '../protocol/events.js'
import type { RedisClient } from '../redis.js'
import { type Bus, type BusSink, type StreamLag, handOver } from './bus.js'
import { type ShardPlan, ShardCounts } from './shard-counts.js'
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
  /**
   * Which shards a node reads: every one (`broadcast`), or shard 0 and those holding a conversation
   * it watches (`interest`), each started on the first watch and stopped at a refresh that finds it
   * unwanted.
   */
  routing?: 'broadcast' | 'interest'
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
  /** The shards read, each with the promise of its start. */
  private readonly readers = new Map<number, { reader: StreamReader; started: Promise<void> }>()
  /** The conversations this node watches (routing by interest only). */
  private readonly watched = new Set<number>()
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
      void this.read(this.wanted(plan)),
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
    await this.read(this.wanted(this.counts.plan), { failHard: true })
  }

  async watch(conversationId: number): Promise<void> {
    if (this.options.routing !== 'interest') return
    this.watched.add(conversationId)
    const { live, read } = this.counts.plan
    await this.read(new Set(live.map((count) => shardOf(conversationId, count)).filter((shard) => shard < read)), { stopOthers: false })
  }

  unwatch(conversationId: number): void {
    // The shard's reader stops at the next refresh that finds it unwanted: a conversation watched again soon costs nothing.
    this.watched.delete(conversationId)
  }

  /** The shards this node reads under `plan`: all of them, or shard 0 and those of the conversations it watches. */
  private wanted(plan: ShardPlan): Set<number> {
    if (this.options.routing !== 'interest') return new Set(Array.from({ length: plan.read }, (_, shard) => shard))
    const shards = new Set([0])
    for (const id of this.watched) for (const count of plan.live) shards.add(shardOf(id, count))
    return shards
  }

  /**
   * Reads `shards`: starts the readers missing and resolves once they have started (a failed start is
   * logged and retried at the next refresh, or thrown with `failHard`), and unless told otherwise
   * closes the readers of the other shards.
   */
  private async read(shards: ReadonlySet<number>, { failHard = false, stopOthers = true } = {}): Promise<void> {
    const sink = this.sink
    if (!sink || this.closed) return
    const starting: Promise<void>[] = []
    for (const shard of shards) {
      const running = this.readers.get(shard)
      if (running) {
        starting.push(running.started)
        continue
      }
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
      this.readers.set(shard, { reader, started })
      starting.push(started)
    }
    const stopping = stopOthers ? [...this.readers].filter(([shard]) => !shards.has(shard)) : []
    for (const [shard] of stopping) this.readers.delete(shard)
    await Promise.all([...starting, ...stopping.map(([, { reader }]) => reader.close())])
  }

  private readerOptions() {
    const { batchSize = 1000, blockMs = 2000, lingerMs = 0, log } = this.options
    return { batchSize, blockMs, lingerMs, log }
  }

  /** Summed over the shards read (entries), or the furthest behind of them (seconds). */
  async lag(): Promise<StreamLag> {
    const lags = await Promise.all([...this.readers.values()].map(({ reader }) => reader.lag()))
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
    await Promise.all([...this.readers.values()].map(({ reader }) => reader.close()))
  }
}
