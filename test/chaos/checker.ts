import type { Ack, Delivery } from './client.js'
import type { StoredEvent } from './history.js'

/** What one reader received, and what it read. */
export interface ReaderRecord {
  name: string
  reads: readonly number[]
  deliveries: readonly Delivery[]
}

export interface CheckInput {
  /** Postgres' log of each conversation read or written: the truth. */
  history: ReadonlyMap<number, readonly StoredEvent[]>
  /** Every acknowledgement any writer got. */
  acks: readonly Ack[]
  readers: readonly ReaderRecord[]
  /** Date.now() when the fault ended. */
  faultEndedAt: number
}

/** What a reader received that it should not have, or did not receive: per reader, and summed. */
export interface ReaderCounts {
  /** Stored, and never delivered, not even by the final resume. */
  missing: number
  /** Deliveries of a seq this reader had already received: events the SDK handed the application twice. */
  duplicates: number
  /** Deliveries of a new seq that did not follow the highest seq delivered before it. */
  outOfOrder: number
  /** Deliveries of something Postgres does not hold (a seq past the log, a conversation not read). */
  unexpected: number
  /** Deliveries whose type, user or text differ from the stored event. */
  textsDiffer: number
  /** Stored events this reader got only from the final resume, not as a documented client. */
  onlyFromFinalResume: number
  /**
   * How long after the fault ended this reader had every stored event: the most, over stored events,
   * of its first delivery minus the later of the fault's end and the event's commit. Null when some
   * event came only from the final resume, or never. Summed: the slowest reader's, null if any is.
   */
  convergenceMs: number | null
  /** The longest any event took from its commit to its first delivery to this reader: the stall the fault caused. */
  worstLatencyMs: number
}

export interface ReaderVerdict extends ReaderCounts {
  reader: string
  /** The event that took longest to converge, for the report. */
  slowest: { conversationId: number; seq: number } | undefined
}

export interface Verdict extends ReaderCounts {
  /** Acknowledgements whose message is not stored at the acknowledged seq, with the acknowledged text and id. */
  lost: number
  /** Messages stored more than once under one client id (an idempotent retry that created a second row). */
  storedTwice: number
  /** Seqs missing from Postgres' own log (it must be gapless). */
  truthGaps: number
  readers: ReaderVerdict[]
}

/** The counts that must all be zero. */
export const VIOLATIONS = ['lost', 'storedTwice', 'truthGaps', 'missing', 'duplicates', 'outOfOrder', 'unexpected', 'textsDiffer'] as const

export function violations(verdict: Verdict): number {
  return VIOLATIONS.reduce((sum, key) => sum + verdict[key], 0)
}

/**
 * A Jepsen-style check of one scenario's history: Postgres' log is the truth; each acknowledgement
 * must be in it, and each reader must have received exactly it, once, in order, with the stored text.
 */
export function check(input: CheckInput): Verdict {
  const bySeq = new Map<number, Map<number, StoredEvent>>()
  for (const [conversationId, events] of input.history) bySeq.set(conversationId, new Map(events.map((event) => [event.seq, event])))

  let lost = 0
  for (const ack of input.acks) {
    const stored = bySeq.get(ack.conversationId)?.get(ack.seq)
    if (!stored || stored.type !== 'message.created' || stored.text !== ack.text || stored.clientId !== ack.clientId) lost++
  }

  let storedTwice = 0
  let truthGaps = 0
  for (const events of input.history.values()) {
    const clientIds = new Set<string>()
    let next = 1
    for (const event of events) {
      truthGaps += event.seq - next
      next = event.seq + 1
      if (event.clientId === null) continue
      if (clientIds.has(event.clientId)) storedTwice++
      clientIds.add(event.clientId)
    }
  }

  const readers = input.readers.map((reader) => checkReader(reader, input.history, bySeq, input.faultEndedAt))
  const sum = (key: 'missing' | 'duplicates' | 'outOfOrder' | 'unexpected' | 'textsDiffer' | 'onlyFromFinalResume') =>
    readers.reduce((total, verdict) => total + verdict[key], 0)
  const convergences = readers.map((verdict) => verdict.convergenceMs)
  return {
    lost,
    storedTwice,
    truthGaps,
    readers,
    missing: sum('missing'),
    duplicates: sum('duplicates'),
    outOfOrder: sum('outOfOrder'),
    unexpected: sum('unexpected'),
    textsDiffer: sum('textsDiffer'),
    onlyFromFinalResume: sum('onlyFromFinalResume'),
    convergenceMs: convergences.includes(null) ? null : Math.max(0, ...(convergences as number[])),
    worstLatencyMs: Math.max(0, ...readers.map((verdict) => verdict.worstLatencyMs)),
  }
}

function checkReader(
  reader: ReaderRecord,
  history: ReadonlyMap<number, readonly StoredEvent[]>,
  bySeq: ReadonlyMap<number, ReadonlyMap<number, StoredEvent>>,
  faultEndedAt: number,
): ReaderVerdict {
  const verdict: ReaderVerdict = {
    reader: reader.name,
    missing: 0,
    duplicates: 0,
    outOfOrder: 0,
    unexpected: 0,
    textsDiffer: 0,
    onlyFromFinalResume: 0,
    convergenceMs: 0,
    slowest: undefined,
    worstLatencyMs: 0,
  }
  const reads = new Set(reader.reads)
  /** Per conversation: the seqs delivered, the highest of them, and when each first came before the final resume. */
  const received = new Map<number, { seqs: Set<number>; highest: number; liveAt: Map<number, number> }>()
  for (const id of reads) received.set(id, { seqs: new Set(), highest: 0, liveAt: new Map() })

  for (const delivery of reader.deliveries) {
    const stored = bySeq.get(delivery.conversationId)?.get(delivery.seq)
    const mine = received.get(delivery.conversationId)
    if (!stored || !mine) {
      verdict.unexpected++
      continue
    }
    if (mine.seqs.has(delivery.seq)) {
      verdict.duplicates++
      continue
    }
    if (delivery.seq !== mine.highest + 1) verdict.outOfOrder++
    mine.seqs.add(delivery.seq)
    mine.highest = Math.max(mine.highest, delivery.seq)
    if (!delivery.final) mine.liveAt.set(delivery.seq, delivery.at)
    const differs =
      stored.type !== delivery.type || stored.user !== delivery.user || (stored.type === 'message.created' && stored.text !== delivery.text)
    if (differs) verdict.textsDiffer++
  }

  for (const id of reads) {
    const mine = received.get(id) as { seqs: Set<number>; liveAt: Map<number, number> }
    for (const event of history.get(id) ?? []) {
      if (!mine.seqs.has(event.seq)) {
        verdict.missing++
        verdict.convergenceMs = null
        continue
      }
      const at = mine.liveAt.get(event.seq)
      if (at === undefined) {
        verdict.onlyFromFinalResume++
        verdict.convergenceMs = null
        continue
      }
      verdict.worstLatencyMs = Math.max(verdict.worstLatencyMs, Math.round(at - event.at))
      const took = Math.round(at - Math.max(faultEndedAt, event.at))
      if (verdict.convergenceMs !== null && took > verdict.convergenceMs) {
        verdict.convergenceMs = took
        verdict.slowest = { conversationId: id, seq: event.seq }
      }
    }
  }
  return verdict
}
