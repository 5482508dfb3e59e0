import t from 'tap'
import { type EncodedEvent, FRAME_MAX_BYTES, encodeEventsFrames } from '../src/protocol/events.js'

const event = (seq: number, text: string): EncodedEvent => ({
  conversationId: 7,
  seq,
  json: JSON.stringify({ type: 'message.created', conversationId: 7, seq, message: { text } }),
})

const parsed = (frames: Buffer[]) => frames.map((f) => JSON.parse(f.toString()) as { type: string; events: { seq: number }[] })

t.test('events go out in frames of at most FRAME_MAX_BYTES, in order, each whole', async (t) => {
  // Multi-byte text: a limit counted in characters would let frames grow to three times the bytes.
  const events = Array.from({ length: 100 }, (_, i) => event(i + 1, '€'.repeat(1000)))
  const frames = encodeEventsFrames(events)
  t.ok(frames.length > 1, `${frames.length} frames`)
  for (const frame of frames) t.ok(frame.length <= FRAME_MAX_BYTES, `${frame.length} bytes`)
  const decoded = parsed(frames)
  t.ok(decoded.every((f) => f.type === 'events'))
  t.same(decoded.flatMap((f) => f.events.map((e) => e.seq)), events.map((e) => e.seq), 'every event once, in order')
})

t.test('an event larger than the limit goes alone, and small batches share one frame', async (t) => {
  const big = event(2, 'x'.repeat(FRAME_MAX_BYTES))
  const frames = encodeEventsFrames([event(1, 'a'), big, event(3, 'b')])
  t.same(parsed(frames).map((f) => f.events.map((e) => e.seq)), [[1], [2], [3]])
  t.equal(encodeEventsFrames([event(1, 'a'), event(2, 'b')]).length, 1)
  t.same(encodeEventsFrames([]), [], 'no events, no frame')
})
