import { randomUUID } from 'node:crypto'
import t from 'tap'
import { Redis } from 'ioredis'
import { RedisPubSubBus } from '../src/bus/redis-pubsub.js'
import { RedisStreamBus } from '../src/bus/redis-stream.js'
import type { ControlMessage, UserNotice } from '../src/protocol/envelopes.js'
import { OwnRedis } from './faults/redis-server.js'
import { event, reading } from './helpers/bus-reader.js'
import { until } from './helpers/waiting.js'

// The sharded Pub/Sub bus on a Redis of this test's own, which it restarts.
const server = await OwnRedis.start()
t.teardown(() => server.stop())
const redis = new Redis(server.url, { commandTimeout: 500, maxRetriesPerRequest: 1 })
t.teardown(() => redis.disconnect())

const warnings: object[] = []
const log = { info: () => {}, warn: (obj: object) => warnings.push(obj), error: () => {} }

/** A bus on the deployment `key`, as one node's; closed when the test ends. */
function bus(key: string) {
  const stream = new RedisStreamBus(redis, { key, maxLen: 10_000, blockMs: 100, log })
  return new RedisPubSubBus(redis, stream, { key, log })
}

t.test("a node gets the events of the conversations it watches, each conversation's in order, and nothing else", async (t) => {
  const key = randomUUID()
  const writer = await reading(t, bus(key))
  const reader = await reading(t, bus(key))
  await reader.bus.watch(1)
  await reader.bus.watch(3)
  await Promise.all([1, 2, 3].flatMap((id) => [event(id, 1), event(id, 2)]).map((e) => writer.bus.publish(e)))
  await writer.bus.publish(event(1, 3))
  const got = await reader.waitFor(5)
  t.same(
    got.filter((e) => e.conversationId === 1),
    [event(1, 1), event(1, 2), event(1, 3)],
  )
  t.same(
    got.filter((e) => e.conversationId === 3),
    [event(3, 1), event(3, 2)],
  )
  t.equal(writer.received.length, 0, 'the writer watches nothing, so it reads nothing')

  reader.bus.unwatch(3)
  await writer.bus.publish(event(3, 3))
  await writer.bus.publish(event(1, 4))
  await reader.waitFor(6)
  t.same(reader.received.slice(5), [event(1, 4)], 'after unwatch, nothing more of that conversation')
})

t.test('control messages and notices go by the stream, to every node', async (t) => {
  const key = randomUUID()
  const writer = await reading(t, bus(key))
  const reader = await reading(t, bus(key))
  const revoked: ControlMessage = { type: 'sessions.revoked', sessionIds: [5] }
  const notice: UserNotice = { userIds: [2], json: '{"type":"read"}' }
  await Promise.all([writer.bus.publishControl(revoked), writer.bus.publishNotice(notice)])
  await until(() => reader.handedOver.length === 2, 'both')
  t.same(reader.handedOver, [revoked, notice])
  t.equal(await redis.xlen(key), 1, 'one stream entry')
})

t.test('a malformed message is skipped whole and reading goes on', async (t) => {
  const key = randomUUID()
  const reader = await reading(t, bus(key))
  await reader.bus.watch(4)
  warnings.length = 0
  for (const bad of ['{not json', '{"c":1}', '[1,2]', JSON.stringify(['c', 'x', 's', '1', 'e', '{}'])]) await redis.spublish(`${key}:live:4`, bad)
  await reading(t, bus(key)).then(({ bus }) => bus.publish(event(4, 1)))
  t.same(await reader.waitFor(1), [event(4, 1)])
  t.equal(warnings.length, 4, 'each bad message is logged')
})

t.test('after Redis restarts empty, and for a watch made while it was down, the subscriptions come back', async (t) => {
  const key = randomUUID()
  const writer = await reading(t, bus(key))
  const reader = await reading(t, bus(key))
  await reader.bus.watch(7)
  await server.kill()
  await t.resolves(reader.bus.watch(8), 'a watch while Redis is down resolves; what is missed meanwhile comes by the recovery paths')
  await server.startAgain()
  await until(async () => {
    await writer.bus.publish(event(7, reader.received.length + 1)).catch(() => {})
    await writer.bus.publish(event(8, 1)).catch(() => {})
    return reader.received.some((e) => e.conversationId === 7) && reader.received.some((e) => e.conversationId === 8)
  }, 'events of both conversations', 30_000)
  t.ok(reader.received.length >= 2, 'both conversations are read again')
})
