import { setTimeout as sleep } from 'node:timers/promises'
import { Cluster } from 'ioredis'
import { type Logger, logRedisErrors, rateLimitedLog } from '../logger.js'
import type { RedisClient } from '../redis.js'
import type { BusItem, StreamLag } from './bus.js'
import { decodeEntry } from './stream-entries.js'

export interface StreamReaderOptions {
  /** Most entries one read takes. */
  batchSize: number
  /** How long one XREAD waits for an entry. */
  blockMs: number
  /** Pause after a busy read (several items, not a full batch): fewer, fuller reads, frames and syscalls for a few ms of latency. */
  lingerMs: number
  log: Logger
}

type StreamEntry = [id: string, fields: string[]]

const ZERO_ID = '0-0'

/** The millisecond time in a stream entry id. */
const timeOf = (id: string) => Number(id.slice(0, id.indexOf('-')))

/** Waits `ms`, or less if `signal` aborts first: a retry's backoff, which shutdown must not wait out. */
const pause = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal }).catch(() => {})

/**
 * A connection of the reader's own: XREAD BLOCK holds it, so it is never shared, and with one command
 * at a time it has nothing to pipeline. Its reads wait up to BLOCK by design, so its timeouts run that
 * much longer than the others'. A Cluster's keeps an offline queue (the node's shared one has none),
 * so that its first read waits for it to connect: with one command at a time, it holds one at most.
 */
function dedicatedConnection(client: RedisClient, blockMs: number): RedisClient {
  if (client instanceof Cluster) {
    const { redisOptions } = client.options
    const commandTimeout = redisOptions?.commandTimeout
    const timeout = commandTimeout === undefined ? undefined : blockMs + commandTimeout
    return client.duplicate(undefined, {
      ...client.options,
      enableAutoPipelining: false,
      enableOfflineQueue: true,
      redisOptions: { ...redisOptions, commandTimeout: timeout, socketTimeout: timeout },
    })
  }
  const { commandTimeout } = client.options
  const timeout = commandTimeout === undefined ? undefined : blockMs + commandTimeout
  return client.duplicate({ enableAutoPipelining: false, commandTimeout: timeout, socketTimeout: timeout })
}

/**
 * Reads one stream with XREAD on a connection of its own, from a cursor held in memory that starts
 * at the stream's newest entry when reading starts, and hands each read's items over in order.
 * Entry ids are millisecond timestamps, so after Redis restarts empty, new entries still sort after
 * the cursor; what was lost with it shows as seq gaps, which the hub fills from Postgres.
 */
export class StreamReader {
  private connection: RedisClient | undefined
  private closed = false
  /** Cuts short the reader's pauses on close, so that shutdown does not wait out a retry's backoff. */
  private readonly closing = new AbortController()
  private loop: Promise<void> | undefined
  /** The id of the last entry read (or of the newest one at start) and the stream's count of entries added up to it. */
  private cursor = ZERO_ID
  private addedAtCursor: number | undefined

  constructor(
    /** Shared with the node's other commands: XINFO goes through it. */
    private readonly redis: RedisClient,
    readonly key: string,
    private readonly options: StreamReaderOptions,
    /** Told each read's items, in stream order, and the number of entries they came in. */
    private readonly handle: (items: BusItem[], entries: number) => void,
  ) {}

  /** Resolves once the reader's cursor is at the newest entry: everything added from then on is read. */
  async start(): Promise<void> {
    if (this.connection) throw new Error(`the reader of ${this.key} was already started`)
    this.connection = dedicatedConnection(this.redis, this.options.blockMs)
    logRedisErrors(this.connection, this.options.log, 'stream reader')
    const newest = await this.newest()
    this.cursor = newest.id
    this.addedAtCursor = newest.added
    this.loop = this.readFrom(this.connection)
  }

  /** Read from Redis (XINFO STREAM); the time between the entries is by their ids, Redis' clock at both ends. */
  async lag(): Promise<StreamLag> {
    const { id, added } = await this.newest()
    // Exact whenever the reader has caught up; an empty restart of Redis shows as fewer entries added.
    if (added !== undefined && (id === this.cursor || (this.addedAtCursor ?? Infinity) > added)) this.addedAtCursor = added
    const entries = added === undefined || this.addedAtCursor === undefined ? undefined : added - this.addedAtCursor
    // A reader that started on a stream that did not exist yet has no time to count from.
    const behind = id !== this.cursor && this.cursor !== ZERO_ID
    return { entries, seconds: behind ? Math.max(0, timeOf(id) - timeOf(this.cursor)) / 1000 : 0 }
  }

  async close(): Promise<void> {
    this.closed = true
    this.closing.abort()
    this.connection?.disconnect()
    await this.loop
  }

  /** The items of a read's entries, in order; a malformed entry is logged and left out whole. */
  private itemsOf(entries: StreamEntry[]): BusItem[] {
    return entries.flatMap(([id, fields]) => {
      const items = decodeEntry(fields)
      if (!items) this.options.log.warn({ id, stream: this.key }, 'skipped a malformed stream entry')
      return items ?? []
    })
  }

  /**
   * The id of the newest entry ever added, so that reading starts after it (an explicit id, never
   * '$', loses nothing between reads), and how many entries the stream has had added (Redis 7).
   */
  private async newest(): Promise<{ id: string; added: number | undefined }> {
    let info: unknown[]
    try {
      info = (await this.redis.xinfo('STREAM', this.key)) as unknown[]
    } catch (err) {
      if (/no such key/i.test((err as Error).message)) return { id: ZERO_ID, added: 0 }
      throw err
    }
    const field = (name: string) => info[info.indexOf(name) + 1]
    const added = field('entries-added')
    return { id: String(field('last-generated-id') ?? ZERO_ID), added: typeof added === 'number' ? added : undefined }
  }

  private async readFrom(connection: RedisClient): Promise<void> {
    const { batchSize, blockMs, lingerMs, log } = this.options
    const readFailed = rateLimitedLog(log, 'error', 'reading the stream failed; retrying')
    let failures = 0
    while (!this.closed) {
      try {
        const reply = (await connection.xread('COUNT', batchSize, 'BLOCK', blockMs, 'STREAMS', this.key, this.cursor)) as
          | [string, StreamEntry[]][]
          | null
        failures = 0
        const entries = reply?.[0]?.[1]
        if (!entries || entries.length === 0) continue
        this.cursor = (entries[entries.length - 1] as StreamEntry)[0]
        if (this.addedAtCursor !== undefined) this.addedAtCursor += entries.length
        const items = this.itemsOf(entries)
        this.handle(items, entries.length)
        // A read that brought more than one item (entries piled up, or a writer's batch) but not a
        // full batch means a busy stream: pause so that the next read carries more. After a lone
        // item the next read goes at once.
        const busy = items.length > 1 && entries.length < batchSize
        if (busy && lingerMs) await sleep(lingerMs)
      } catch (err) {
        if (this.closed) break
        failures++
        readFailed({ err, stream: this.key })
        await pause(Math.min(100 * 2 ** failures, 5000), this.closing.signal)
      }
    }
  }
}
