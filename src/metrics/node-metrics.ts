import { Counter, Histogram, Registry, collectDefaultMetrics, exponentialBuckets } from 'prom-client'
import { CloseCode } from '../protocol/limits.js'
import { type GaugeSources, registerGauges } from './gauges.js'

/** Frames counted by kind: the hub's fan-outs, and resumes' backfill. */
type FrameKind = 'events' | 'typing' | 'notice' | 'backfill'
const FRAME_KINDS: readonly FrameKind[] = ['events', 'typing', 'notice', 'backfill']

/** Close codes counted by number; any other that a client sends counts as "other", so the label stays bounded. */
const CLOSE_CODES = new Set<number>([1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1011, ...Object.values(CloseCode)])

const HTTP_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
/** 1, 2, 4 … 256: the append batcher's largest batch, and more than a channel's usual frame. */
const SIZES = exponentialBuckets(1, 2, 9)
/** 1 … 1024: a stream read's COUNT is 1000. */
const READ_SIZES = exponentialBuckets(1, 2, 11)

/**
 * One node's metrics, in a registry of its own (several nodes in one test process do not collide),
 * every series labelled with the node's id and nothing finer: never a user or a conversation. The
 * hub, the sockets and resumes report through the interfaces they declare, once per fan-out and
 * never per socket; gauges are read when scraped (gauges.ts).
 */
export function createNodeMetrics(nodeId: string, sources: GaugeSources) {
  const registry = new Registry()
  registry.setDefaultLabels({ node: nodeId })
  collectDefaultMetrics({ register: registry, prefix: 'chat_' })
  registerGauges(registry, sources)
  const registers = [registry]
  const counter = (name: string, help: string, labelNames: string[] = []) => new Counter({ name, help, labelNames, registers })
  const histogram = (name: string, help: string, buckets: number[], labelNames: string[] = []) =>
    new Histogram({ name, help, buckets, labelNames, registers })

  const frames = counter('chat_ws_frames_written_total', 'Frames handed to sockets, by kind (events, typing, notice, backfill).', ['kind'])
  const bytes = counter('chat_ws_bytes_written_total', 'Bytes of the frames handed to sockets, by kind.', ['kind'])
  // Bound once: a fan-out then costs two increments, whatever its number of sockets.
  const framesOf = Object.fromEntries(FRAME_KINDS.map((kind) => [kind, frames.labels(kind)])) as Record<FrameKind, Counter.Internal>
  const bytesOf = Object.fromEntries(FRAME_KINDS.map((kind) => [kind, bytes.labels(kind)])) as Record<FrameKind, Counter.Internal>
  const wrote = (kind: FrameKind, written: readonly Buffer[], sockets: number) => {
    let size = 0
    for (const frame of written) size += frame.length
    framesOf[kind].inc(written.length * sockets)
    bytesOf[kind].inc(size * sockets)
  }
  const received = counter('chat_bus_events_received_total', 'Events the bus handed to this node, wanted here or not.')
  const wanted = counter('chat_bus_events_wanted_total', 'Events the bus handed to this node for conversations with a subscriber on it.')
  const relayed = counter('chat_events_relayed_total', "Events this node's channels relayed to their live subscribers (once per event, not per socket).")
  const fanOutEvents = histogram('chat_fanout_events', 'Events per channel fan-out: how many events share frames (coalescing).', SIZES)
  const gapFills = counter('chat_gap_fills_total', 'Gaps in a conversation filled from Postgres (seqs the stream did not bring, or the log heads found).')
  const gapFillEvents = counter('chat_gap_fill_events_total', 'Events read from Postgres by gap fills.')
  const resumes = counter('chat_resumes_total', 'Subscribes with afterSeq answered, by whether the page held everything missed (complete).', ['complete'])
  const backfillEvents = counter('chat_backfill_events_total', 'Events written to resuming sockets as backfill.')
  const appendBatch = histogram('chat_append_batch_posts', 'Posts per append_messages statement (the append batcher).', SIZES)
  const streamRead = histogram('chat_stream_read_entries', 'Entries per stream read (XREAD) that brought some.', READ_SIZES)
  const dbUnavailable = counter(
    'chat_db_unavailable_total',
    'Postgres failures that answered 503, by reason (connect_timeout, query_timeout, unreachable).',
    ['reason'],
  )
  const http = histogram('chat_http_request_duration_seconds', 'HTTP requests by route pattern, method and status.', HTTP_SECONDS, [
    'method',
    'route',
    'status',
  ])
  const closes = counter('chat_ws_closes_total', 'WebSockets closed, by the code their close ended with (1006: dropped).', ['code'])
  const slowConsumers = counter('chat_ws_slow_consumer_closes_total', 'WebSockets closed as slow consumers (4008).')
  const errorFrames = counter('chat_ws_error_frames_total', 'Error frames answered to sockets, by code (rate_limited, unavailable, …).', ['code'])

  return {
    registry,
    hub: {
      wrote,
      received(events: number, wantedHere: number) {
        received.inc(events)
        wanted.inc(wantedHere)
      },
      relayed(events: number) {
        relayed.inc(events)
        fanOutEvents.observe(events)
      },
      gapFilled(events: number) {
        gapFills.inc()
        gapFillEvents.inc(events)
      },
    },
    resume: {
      resumed: (complete: boolean) => resumes.inc({ complete: String(complete) }),
      backfilled(events: number, written: readonly Buffer[]) {
        backfillEvents.inc(events)
        wrote('backfill', written, 1)
      },
    },
    socket: {
      closed: (code: number) => closes.inc({ code: CLOSE_CODES.has(code) ? String(code) : 'other' }),
      slowConsumer: () => slowConsumers.inc(),
      errorFrame: (code: string) => errorFrames.inc({ code }),
    },
    appendBatch: (posts: number) => appendBatch.observe(posts),
    streamRead: (entries: number) => streamRead.observe(entries),
    dbUnavailable: (reason: string) => dbUnavailable.inc({ reason }),
    httpRequest: (method: string, route: string, status: number, seconds: number) => http.observe({ method, route, status }, seconds),
  }
}

export type NodeMetrics = ReturnType<typeof createNodeMetrics>
