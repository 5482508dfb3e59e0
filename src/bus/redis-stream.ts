import type { Redis } from 'ioredis'
import type { Logger } from '../logger.js'
import type { EncodedEvent } from '../chat/events.js'
import type { Bus } from './bus.js'

export interface RedisStreamOptions {
  /** The stream's key, shared by every node of a deployment. */
  key: string
  /** Approximate length the stream is trimmed to on each XADD. */
  maxLen: number
  batchSize?: number
  blockMs?: number
  /** Pause after a read that did not fill a batch: fewer, fuller reads, frames and syscalls for a few ms of latency. */
  lingerMs?: number
  log: Logger
}

type StreamEntry = [id: string, fields: string[]]

const ZERO_ID = '0-0'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function decode(fields: string[]): EncodedEvent | undefined {
  let conversationId: number | undefined
  let seq: number | undefined
  let json: string | undefined
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = fields[i + 1] as string
    if (fields[i] === 'c') conversationId = Number(value)
    else if (fields[i] === 's') seq = Number(value)
    else if (fields[i] === 'e') json = value
  }
  if (!Number.isSafeInteger(conversationId) || !Number.isSafeInteger(seq) || json === undefined) return undefined
  return { conversationId: conversationId as number, seq: seq as number, json }
}

/**
 * A Redis stream as the shared queue. Each node reads it with XREAD on a connection of its own, from
 * a cursor held in memory that starts at the stream's end when the node starts. Entry ids are
 * millisecond timestamps, so after Redis restarts empty, new entries still sort after the cursor;
 * what was lost with it shows as seq gaps, which the hub fills from Postgres.
 */
export class RedisStreamBus implements Bus {
  private reader: Redis | undefined
  private closed = false
  private loop: Promise<void> | undefined
  private readonly batchSize: number
  private readonly blockMs: number

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisStreamOptions,
  ) {
    this.batchSize = options.batchSize ?? 1000
    this.blockMs = options.blockMs ?? 2000
  }

  async publish(event: EncodedEvent): Promise<void> {
    const { key, maxLen } = this.options
    await this.redis.xadd(key, 'MAXLEN', '~', maxLen, '*', 'c', event.conversationId, 's', event.seq, 'e', event.json)
  }

  async consume(onBatch: (events: EncodedEvent[]) => void): Promise<void> {
    if (this.reader) throw new Error('consume() was already called')
    // XREAD BLOCK holds its connection, so the reader never shares one.
    this.reader = this.redis.duplicate()
    const cursor = await this.lastId()
    this.loop = this.readFrom(this.reader, cursor, onBatch)
  }

  async close(): Promise<void> {
    this.closed = true
    this.reader?.disconnect()
    await this.loop
  }

  /** The id of the newest entry, so that reading starts after it (an explicit id, never '$', loses nothing between reads). */
  private async lastId(): Promise<string> {
    const newest = (await this.redis.xrevrange(this.options.key, '+', '-', 'COUNT', 1)) as StreamEntry[]
    return newest[0]?.[0] ?? ZERO_ID
  }

  private async readFrom(reader: Redis, start: string, onBatch: (events: EncodedEvent[]) => void): Promise<void> {
    const { key, log } = this.options
    let cursor = start
    let failures = 0
    while (!this.closed) {
      try {
        const reply = (await reader.xread('COUNT', this.batchSize, 'BLOCK', this.blockMs, 'STREAMS', key, cursor)) as
          | [string, StreamEntry[]][]
          | null
        failures = 0
        const entries = reply?.[0]?.[1]
        if (!entries || entries.length === 0) continue
        cursor = (entries[entries.length - 1] as StreamEntry)[0]
        const events: EncodedEvent[] = []
        for (const [id, fields] of entries) {
          const event = decode(fields)
          if (event) events.push(event)
          else log.warn({ id }, 'skipped a malformed stream entry')
        }
        if (events.length > 0) onBatch(events)
        if (entries.length < this.batchSize && this.options.lingerMs) await sleep(this.options.lingerMs)
      } catch (err) {
        if (this.closed) break
        failures++
        log.error({ err }, 'reading the stream failed; retrying')
        await sleep(Math.min(100 * 2 ** failures, 5000))
      }
    }
  }
}
