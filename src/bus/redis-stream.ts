import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import { type Logger, logRedisErrors, rateLimitedLog } from '../logger.js'
import { type ControlMessage, type ConversationSignal, type UserNotice, isControlMessage } from '../protocol/envelopes.js'
import type { EncodedEvent } from '../protocol/events.js'
import { type Bus, type BusItem, type BusSink, type StreamLag, handOver } from './bus.js'

export interface RedisStreamOptions {
  /** The stream's key, shared by every node of a deployment. */
  key: string
  /** Approximate length, in entries, the stream is trimmed to on each XADD. */
  maxLen: number
  batchSize?: number
  blockMs?: number
  /** Pause after a read that did not fill a batch: fewer, fuller reads, frames and syscalls for a few ms of latency. */
  lingerMs?: number
  log: Logger
}

type StreamEntry = [id: string, fields: string[]]

const ZERO_ID = '0-0'

/** The millisecond time in a stream entry id. */
const timeOf = (id: string) => Number(id.slice(0, id.indexOf('-')))

/** Most events one stream entry carries; more published in one turn of the event loop take several entries. */
const MAX_EVENTS_PER_ENTRY = 500

/** Waits `ms`, or less if `signal` aborts first: a retry's backoff, which shutdown must not wait out. */
const pause = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal }).catch(() => {})

/** One publish waiting for its turn's XADD: its fields, in entry order. */
interface Waiting {
  fields: (string | number)[]
  resolve: () => void
  reject: (err: unknown) => void
}

const USER_IDS = /^[1-9][0-9]{0,15}(,[1-9][0-9]{0,15})*$/

/**
 * An entry is a run of items, each a run of fields ending with its JSON, so that routing needs no
 * JSON parse:
 * - an event: c (conversation id), s (seq), r (a member it removes; optional), e (its JSON);
 * - a notice: u (user ids, comma-separated), n (its JSON);
 * - a signal: c (conversation id), w (the user it skips), y (its JSON);
 * - a control message: x (its JSON).
 * Answers the entry's items in order, or undefined when the entry is malformed: none of it is used.
 */
function decode(fields: string[]): BusItem[] | undefined {
  const items: BusItem[] = []
  let conversationId = Number.NaN
  let seq = Number.NaN
  let removes: number | undefined
  let userIds: string | undefined
  let except = Number.NaN
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = fields[i + 1] as string
    const field = fields[i]
    if (field === 'c') conversationId = Number(value)
    else if (field === 's') seq = Number(value)
    else if (field === 'r') removes = Number(value)
    else if (field === 'u') userIds = value
    else if (field === 'w') except = Number(value)
    else if (field === 'e') {
      if (!Number.isSafeInteger(conversationId) || !Number.isSafeInteger(seq)) return undefined
      if (removes !== undefined && !Number.isSafeInteger(removes)) return undefined
      items.push({ kind: 'event', event: removes === undefined ? { conversationId, seq, json: value } : { conversationId, seq, removes, json: value } })
      conversationId = seq = Number.NaN
      removes = undefined
    } else if (field === 'n') {
      if (userIds === undefined || !USER_IDS.test(userIds)) return undefined
      items.push({ kind: 'notice', notice: { userIds: userIds.split(',').map(Number), json: value } })
      userIds = undefined
    } else if (field === 'y') {
      if (!Number.isSafeInteger(conversationId) || !Number.isSafeInteger(except)) return undefined
      items.push({ kind: 'signal', signal: { conversationId, exceptUserId: except, json: value } })
      conversationId = except = Number.NaN
    } else if (field === 'x') {
      let message: unknown
      try {
        message = JSON.parse(value)
      } catch {
        return undefined
      }
      if (!isControlMessage(message)) return undefined
      items.push({ kind: 'control', message })
    }
  }
  return items.length > 0 ? items : undefined
}

const eventFields = (event: EncodedEvent) =>
  event.removes === undefined
    ? ['c', event.conversationId, 's', event.seq, 'e', event.json]
    : ['c', event.conversationId, 's', event.seq, 'r', event.removes, 'e', event.json]

/**
 * A Redis stream as the shared queue. Each node reads it with XREAD on a connection of its own, from
 * a cursor held in memory that starts at the stream's end when the node starts. Entry ids are
 * millisecond timestamps, so after Redis restarts empty, new entries still sort after the cursor;
 * what was lost with it shows as seq gaps, which the hub fills from Postgres.
 *
 * Events published in one turn of the event loop (a batch of appends commits at once) share one
 * entry: one XADD for Redis to run and one entry for every node to read.
 */
export class RedisStreamBus implements Bus {
  private reader: Redis | undefined
  private closed = false
  /** Cuts short the reader's pauses on close, so that shutdown does not wait out a retry's backoff. */
  private readonly closing = new AbortController()
  private waiting: Waiting[] = []
  private flushScheduled = false
  private loop: Promise<void> | undefined
  private readonly batchSize: number
  private readonly blockMs: number
  /** The id of the last entry read (or of the newest one at start) and the stream's count of entries added up to it. */
  private cursor = ZERO_ID
  private addedAtCursor: number | undefined

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisStreamOptions,
  ) {
    this.batchSize = options.batchSize ?? 1000
    this.blockMs = options.blockMs ?? 2000
  }

  publish(event: EncodedEvent): Promise<void> {
    return this.enqueue(eventFields(event))
  }

  publishControl(message: ControlMessage): Promise<void> {
    return this.enqueue(['x', JSON.stringify(message)])
  }

  publishNotice(notice: UserNotice): Promise<void> {
    return this.enqueue(['u', notice.userIds.join(','), 'n', notice.json])
  }

  publishSignal(signal: ConversationSignal): Promise<void> {
    return this.enqueue(['c', signal.conversationId, 'w', signal.exceptUserId, 'y', signal.json])
  }

  private enqueue(fields: (string | number)[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ fields, resolve, reject })
      if (this.flushScheduled) return
      this.flushScheduled = true
      setImmediate(() => this.flush())
    })
  }

  private flush(): void {
    const { key, maxLen } = this.options
    const waiting = this.waiting
    this.waiting = []
    this.flushScheduled = false
    for (let i = 0; i < waiting.length; i += MAX_EVENTS_PER_ENTRY) {
      const entry = waiting.slice(i, i + MAX_EVENTS_PER_ENTRY)
      this.redis.xadd(key, 'MAXLEN', '~', maxLen, '*', ...entry.flatMap((w) => w.fields)).then(
        () => entry.forEach((w) => w.resolve()),
        (err: unknown) => entry.forEach((w) => w.reject(err)),
      )
    }
  }

  async consume(sink: BusSink): Promise<void> {
    if (this.reader) throw new Error('consume() was already called')
    // XREAD BLOCK holds its connection, so the reader never shares one; with one command at a time
    // it has nothing to pipeline. Its reads wait up to BLOCK by design, so its timeouts run that
    // much longer than the others'.
    const { commandTimeout } = this.redis.options
    const timeout = commandTimeout === undefined ? undefined : this.blockMs + commandTimeout
    this.reader = this.redis.duplicate({ enableAutoPipelining: false, commandTimeout: timeout, socketTimeout: timeout })
    logRedisErrors(this.reader, this.options.log, 'stream reader')
    const newest = await this.newest()
    this.cursor = newest.id
    this.addedAtCursor = newest.added
    this.loop = this.readFrom(this.reader, sink)
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
    this.reader?.disconnect()
    await this.loop
  }

  /** The items of a read's entries, in order; a malformed entry is logged and left out whole. */
  private itemsOf(entries: StreamEntry[]): BusItem[] {
    return entries.flatMap(([id, fields]) => {
      const items = decode(fields)
      if (!items) this.options.log.warn({ id }, 'skipped a malformed stream entry')
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
      info = (await this.redis.xinfo('STREAM', this.options.key)) as unknown[]
    } catch (err) {
      if (/no such key/i.test((err as Error).message)) return { id: ZERO_ID, added: 0 }
      throw err
    }
    const field = (name: string) => info[info.indexOf(name) + 1]
    const added = field('entries-added')
    return { id: String(field('last-generated-id') ?? ZERO_ID), added: typeof added === 'number' ? added : undefined }
  }

  private async readFrom(reader: Redis, sink: BusSink): Promise<void> {
    const { key, log } = this.options
    const readFailed = rateLimitedLog(log, 'error', 'reading the stream failed; retrying')
    let failures = 0
    while (!this.closed) {
      try {
        const reply = (await reader.xread('COUNT', this.batchSize, 'BLOCK', this.blockMs, 'STREAMS', key, this.cursor)) as
          | [string, StreamEntry[]][]
          | null
        failures = 0
        const entries = reply?.[0]?.[1]
        if (!entries || entries.length === 0) continue
        this.cursor = (entries[entries.length - 1] as StreamEntry)[0]
        if (this.addedAtCursor !== undefined) this.addedAtCursor += entries.length
        sink.onRead?.(entries.length)
        handOver(this.itemsOf(entries), sink)
        if (entries.length < this.batchSize && this.options.lingerMs) await sleep(this.options.lingerMs)
      } catch (err) {
        if (this.closed) break
        failures++
        readFailed({ err })
        await pause(Math.min(100 * 2 ** failures, 5000), this.closing.signal)
      }
    }
  }
}
