/**
 * Reads what the bench checks in an events frame (docs/protocol.md) straight from its bytes: each
 * event's conversation id and seq, and the due time a bench publisher wrote into its text. A load
 * process receives every frame once per socket, so it neither decodes nor parses them. JSON escapes
 * quotes inside strings, so the keys searched for cannot occur inside a message's text.
 */
const EVENTS_PREFIX = Buffer.from('{"type":"events"')
const CONVERSATION_KEY = Buffer.from('"conversationId":')
const SEQ_KEY = Buffer.from('"seq":')
/** Where a bench message's text starts; bench/load-process.ts posts "bench <due time in epoch ms>". */
export const BENCH_TEXT_PREFIX = 'bench '
const BENCH_TEXT = Buffer.from(`"text":"${BENCH_TEXT_PREFIX}`)

const DIGIT_0 = 0x30
const DOT = 0x2e

export const isEventsFrame = (frame: Buffer): boolean =>
  frame.length > EVENTS_PREFIX.length && frame.compare(EVENTS_PREFIX, 0, EVENTS_PREFIX.length, 0, EVENTS_PREFIX.length) === 0

/** The decimal number (digits, an optional fraction) that starts at `at`. */
function numberAt(frame: Buffer, at: number): number {
  let value = 0
  let scale = 0
  for (let i = at; i < frame.length; i++) {
    const byte = frame[i] as number
    if (byte === DOT && scale === 0) scale = 1
    else if (byte >= DIGIT_0 && byte <= DIGIT_0 + 9) {
      if (scale === 0) value = value * 10 + (byte - DIGIT_0)
      else value += (byte - DIGIT_0) / (scale *= 10)
    } else break
  }
  return value
}

/** Calls `onEvent` for each event of an events frame, in order; dueAt is NaN for events a bench publisher did not write. */
export function forEachEvent(frame: Buffer, onEvent: (conversationId: number, seq: number, dueAt: number) => void): void {
  let at = frame.indexOf(CONVERSATION_KEY, EVENTS_PREFIX.length)
  while (at !== -1) {
    const next = frame.indexOf(CONVERSATION_KEY, at + CONVERSATION_KEY.length)
    const end = next === -1 ? frame.length : next
    const conversationId = numberAt(frame, at + CONVERSATION_KEY.length)
    const seqAt = frame.indexOf(SEQ_KEY, at)
    const textAt = frame.indexOf(BENCH_TEXT, at)
    if (seqAt === -1 || seqAt > end) throw new Error('an event without a seq')
    const dueAt = textAt === -1 || textAt > end ? Number.NaN : numberAt(frame, textAt + BENCH_TEXT.length)
    onEvent(conversationId, numberAt(frame, seqAt + SEQ_KEY.length), dueAt)
    at = next
  }
}
