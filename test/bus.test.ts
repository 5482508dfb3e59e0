import t from 'tap'
import { Redis } from 'ioredis'
import { RedisStreamBus } from '../src/bus/redis-stream.js'
import type { ControlMessage, ConversationSignal, UserNotice } from '../src/protocol/envelopes.js'
import type { EncodedEvent } from '../src/protocol/events.js'
import { event, reading } from './helpers/bus-reader.js'
import { isolatedEnvironment } from './helpers/isolation.js'

const { redisUrl, redisPrefix } = await isolatedEnvironment(t, 'bus')
const redis = new Redis(redisUrl)
t.teardown(() => redis.quit())

const warnings: object[] = []
const log = { info: () => {}, warn: (obj: object) => warnings.push(obj), error: () => {} }

/** A bus on its own stream key, read by a consumer that collects everything it gets. */
async function busOn(key: string) {
  const bus = new RedisStreamBus(redis, { key: `${redisPrefix}${key}`, maxLen: 10_000, blockMs: 100, log })
  return { ...(await reading(t, bus)), bus, key: `${redisPrefix}${key}` }
}

t.test('the events published in one turn share one stream entry and arrive in order', async (t) => {
  const { bus, key, waitFor } = await busOn('one-turn')
  const sent = [event(1, 1), event(2, 1), event(1, 2)]
  await Promise.all(sent.map((e) => bus.publish(e)))
  t.equal(await redis.xlen(key), 1, 'one entry')
  const [entry] = await redis.xrange(key, '-', '+')
  t.same(
    entry?.[1].filter((_, i) => i % 2 === 0),
    ['c', 's', 'e', 'c', 's', 'e', 'c', 's', 'e'],
  )
  t.same(await waitFor(3), sent)

  await bus.publish(event(3, 1))
  await bus.publish(event(3, 2))
  t.equal(await redis.xlen(key), 3, 'publishes in separate turns take separate entries')
  t.same((await waitFor(5)).slice(3), [event(3, 1), event(3, 2)])
})

t.test('a large turn is split over several entries, still in order', async (t) => {
  const { bus, key, waitFor } = await busOn('large-turn')
  const sent = Array.from({ length: 1200 }, (_, i) => event(7, i + 1))
  await Promise.all(sent.map((e) => bus.publish(e)))
  t.equal(await redis.xlen(key), 3, '500 events per entry at most')
  t.same(await waitFor(1200), sent)
})

t.test('a malformed entry is skipped and reading goes on', async (t) => {
  const { bus, key, waitFor } = await busOn('malformed')
  warnings.length = 0
  await redis.xadd(key, '*', 'c', 'x', 's', '1', 'e', '{}')
  await redis.xadd(key, '*', 'c', '1', 's', '1')
  await bus.publish(event(9, 1))
  t.same(await waitFor(1), [event(9, 1)], 'only the well-formed event arrives')
  t.equal(warnings.length, 2, 'each bad entry is logged')
})

t.test('control messages travel with events, in their place', async (t) => {
  const { bus, key, waitFor, handedOver } = await busOn('control')
  const revoked: ControlMessage = { type: 'sessions.revoked', sessionIds: [7, 8] }
  await Promise.all([bus.publish(event(1, 1)), bus.publishControl(revoked), bus.publish(event(1, 2)), bus.publish(event(2, 1))])
  t.equal(await redis.xlen(key), 1, 'one turn, one entry')
  await waitFor(3)
  t.same(handedOver, [[event(1, 1)], revoked, [event(1, 2), event(2, 1)]], 'the events before the message, the message, then the rest')
})

t.test('an entry with a malformed control message is skipped whole', async (t) => {
  const { bus, key, waitFor, handedOver } = await busOn('bad-control')
  warnings.length = 0
  await redis.xadd(key, '*', 'c', '1', 's', '1', 'e', '{}', 'x', '{not json')
  await redis.xadd(key, '*', 'x', JSON.stringify({ type: 'sessions.revoked', sessionIds: ['1; DROP'] }))
  await redis.xadd(key, '*', 'x', JSON.stringify({ type: 'something.else' }))
  await bus.publish(event(4, 1))
  await waitFor(1)
  t.same(handedOver, [[event(4, 1)]], 'only the well-formed entry is used')
  t.equal(warnings.length, 3, 'each bad entry is logged')
})

t.test('notices, signals and removals travel with events, in their place', async (t) => {
  const { bus, key, waitFor, handedOver } = await busOn('notices')
  const notice: UserNotice = { userIds: [3, 12], json: '{"type":"read"}' }
  const signal: ConversationSignal = { conversationId: 5, exceptUserId: 3, json: '{"type":"typing"}' }
  const removal: EncodedEvent = { conversationId: 5, seq: 2, removes: 12, json: '{"type":"member.removed"}' }
  await Promise.all([bus.publish(event(5, 1)), bus.publishNotice(notice), bus.publishSignal(signal), bus.publish(removal)])
  t.equal(await redis.xlen(key), 1, 'one turn, one entry')
  await waitFor(2)
  t.same(handedOver, [[event(5, 1)], notice, signal, [removal]])
})

t.test('an entry with a malformed notice or signal is skipped whole', async (t) => {
  const { bus, key, waitFor, handedOver } = await busOn('bad-notice')
  warnings.length = 0
  await redis.xadd(key, '*', 'u', '1,x', 'n', '{}')
  await redis.xadd(key, '*', 'n', '{}')
  await redis.xadd(key, '*', 'c', '1', 'y', '{}')
  await redis.xadd(key, '*', 'c', '1', 's', '1', 'r', 'nobody', 'e', '{}')
  await bus.publish(event(4, 1))
  await waitFor(1)
  t.same(handedOver, [[event(4, 1)]], 'only the well-formed entry is used')
  t.equal(warnings.length, 4, 'each bad entry is logged')
})

t.test("the reader's lag: the entries it has not read, and the time from the last it read to the newest", async (t) => {
  const { bus, key, waitFor } = await busOn('lag')
  t.same(await bus.lag(), { entries: 0, seconds: 0 }, 'a new stream')
  await bus.publish(event(4, 1))
  await waitFor(1)
  t.same(await bus.lag(), { entries: 0, seconds: 0 }, 'caught up')
  // A reader that stopped, as a stuck node's would: what is added meanwhile is its lag.
  await bus.close()
  const [last] = await redis.xrevrange(key, '+', '-', 'COUNT', 1)
  const lastMs = Number(last?.[0].split('-')[0])
  await redis.xadd(key, `${lastMs + 1500}-0`, 'c', '4', 's', '2', 'e', '{}')
  await redis.xadd(key, `${lastMs + 2500}-0`, 'c', '4', 's', '3', 'e', '{}')
  t.same(await bus.lag(), { entries: 2, seconds: 2.5 })
})

t.test('the reader pauses only after a busy read: a lone event is followed by a read at once', async (t) => {
  // A pause this long would stall the test: each lone event must be read without it.
  const idle = new RedisStreamBus(redis, { key: `${redisPrefix}idle-reads`, maxLen: 10_000, blockMs: 100, lingerMs: 600_000, log })
  const { waitFor: idleWaitFor, reads: idleReads } = await reading(t, idle)
  for (const seq of [1, 2, 3]) {
    await idle.publish(event(5, seq))
    await idleWaitFor(seq)
  }
  t.same(idleReads, [1, 1, 1], 'one read per lone event, none of them waited for')

  const busy = new RedisStreamBus(redis, { key: `${redisPrefix}busy-reads`, maxLen: 10_000, blockMs: 100, lingerMs: 2_000, log })
  const { waitFor, reads } = await reading(t, busy)
  // Two entries that land together, as two nodes' publishes do under load.
  const both = redis.multi()
  for (const seq of [1, 2]) both.xadd(`${redisPrefix}busy-reads`, '*', 'c', '6', 's', String(seq), 'e', event(6, seq).json)
  await both.exec()
  await waitFor(2)
  for (const seq of [3, 4, 5]) await busy.publish(event(6, seq))
  await waitFor(5)
  t.same(reads, [2, 3], 'after the read of two entries the reader paused, so the next three came in one read')
  // One entry of two events: a writer's batch, as under load.
  await Promise.all([6, 7].map((seq) => busy.publish(event(6, seq))))
  await waitFor(7)
  for (const seq of [8, 9]) await busy.publish(event(6, seq))
  await waitFor(9)
  t.same(reads.slice(2), [1, 2], 'after the read of an entry of two events the reader paused too')
})
