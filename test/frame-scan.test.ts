import t from 'tap'
import { BENCH_TEXT_PREFIX, forEachEvent, isEventsFrame } from '../bench/frame-scan.js'
import { encodeEvent, encodeEventsFrames } from '../src/protocol/events.js'
import type { ChatEvent } from '../src/protocol/wire.js'

const created = (conversationId: number, seq: number, text: string): ChatEvent => ({
  type: 'message.created',
  conversationId,
  seq,
  message: { user: 'alice', text, timestamp: '2026-11-22T00:00:00.000Z', url: `/api/conversations/${conversationId}/${seq}`, edited: null },
})

t.test("the bench's frame scanner reads what JSON.parse reads, from the server's own frames", async (t) => {
  const events: ChatEvent[] = [
    created(12, 1, `${BENCH_TEXT_PREFIX}1795319227107.125`),
    created(12, 2, 'says "seq":99, "conversationId":5 and "text":"bench 1" in its text'),
    { type: 'message.deleted', conversationId: 12, seq: 3, messageSeq: 1, url: '/api/conversations/12/1' },
    created(340, 77, `${BENCH_TEXT_PREFIX}5.5`),
  ]
  const [frame] = encodeEventsFrames(events.map(encodeEvent)) as [Buffer]
  t.ok(isEventsFrame(frame))
  t.notOk(isEventsFrame(Buffer.from('{"type":"ack","id":"x"}')))

  const scanned: [number, number, number][] = []
  forEachEvent(frame, (conversationId, seq, dueAt) => scanned.push([conversationId, seq, dueAt]))
  const parsed = JSON.parse(frame.toString()).events as ChatEvent[]
  t.same(
    scanned.map(([c, s]) => [c, s]),
    parsed.map((e) => [e.conversationId, e.seq]),
  )
  t.same(
    scanned.map(([, , dueAt]) => dueAt),
    [1795319227107.125, Number.NaN, Number.NaN, 5.5],
  )
})
