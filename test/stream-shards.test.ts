import { randomUUID } from 'node:crypto'
import calculateSlot from 'cluster-key-slot'
import t from 'tap'
import { Redis } from 'ioredis'
import { RedisStreamBus } from '../src/bus/redis-stream.js'
import { shardKeys, shardOf } from '../src/bus/shards.js'
import type { ControlMessage, ConversationSignal, UserNotice } from '../src/protocol/envelopes.js'
import { event, reading } from './helpers/bus-reader.js'
import { isolatedEnvironment } from './helpers/isolation.js'
import { until } from './helpers/waiting.js'

const { redisUrl, redisPrefix } = await isolatedEnvironment(t, 'stream_shards')
const redis = new Redis(redisUrl)
t.teardown(() => redis.quit())

const log = { info: () => {}, warn: () => {}, error: () => {} }
/** How often the buses here announce their shard count: a count is gone three of these after its last bus closed. */
const REFRESH_MS = 150

/** A bus on the stream `base` with `shards` shards, reading; closed when `t` ends. */
const busOn = (base: string, shards: number) =>
  reading(t, new RedisStreamBus(redis, { key: base, shards, shardsRefreshMs: REFRESH_MS, maxLen: 10_000, blockMs: 100, log }))

/** The entries of each shard key of `base`, by shard. */
async function entriesByShard(base: string, shards: number): Promise<number[]> {
  const key = shardKeys(base)
  return Promise.all(Array.from({ length: shards }, (_, shard) => redis.xlen(key(shard))))
}

t.test('shard 0 keeps the unsharded key; the others get hash tags that spread them evenly over the slots', async (t) => {
  const key = shardKeys('chat:events')
  t.equal(key(0), 'chat:events', 'a deployment that never set STREAM_SHARDS keeps its stream')
  t.match(key(1), /^chat:events:\{[0-9.]+\}$/)
  for (const shards of [2, 3, 4, 8, 16, 64]) {
    const slots = Array.from({ length: shards - 1 }, (_, i) => calculateSlot(key(i + 1)))
    t.equal(new Set(slots).size, shards - 1, `${shards} shards: each on a slot of its own`)
    // Three masters, each with a contiguous third of the slots, as redis-cli --cluster create deals them.
    const perMaster = [0, 0, 0]
    for (const slot of slots) perMaster[Math.floor((slot * 3) / 16_384)] = (perMaster[Math.floor((slot * 3) / 16_384)] ?? 0) + 1
    t.ok(Math.max(...perMaster) - Math.min(...perMaster) <= 1, `${shards} shards: shards 1…${shards - 1} spread over three masters as ${perMaster.join(', ')}`)
  }
  t.equal(shardKeys('other:')(5).replace('other:', ''), key(5).replace('chat:events', ''), "a shard's tag depends on its index alone")
})

t.test('a conversation keeps to its shard and its order; control messages and notices go to shard 0', async (t) => {
  const base = `${redisPrefix}${randomUUID()}`
  const reader = await busOn(base, 4)
  const writer = await busOn(base, 4)
  const revoked: ControlMessage = { type: 'sessions.revoked', sessionIds: [3] }
  const notice: UserNotice = { userIds: [4], json: '{"type":"read"}' }
  const signal: ConversationSignal = { conversationId: 6, exceptUserId: 4, json: '{"type":"typing"}' }
  const sent = [1, 2, 3, 4, 5, 6, 7].flatMap((conversationId) => [event(conversationId, 1), event(conversationId, 2)])
  await Promise.all([...sent.map((e) => writer.bus.publish(e)), writer.bus.publishControl(revoked), writer.bus.publishNotice(notice), writer.bus.publishSignal(signal)])
  t.same(await entriesByShard(base, 4), [1, 1, 1, 1], 'one turn: one entry in each shard it touched')
  const key = shardKeys(base)
  for (const shard of [0, 1, 2, 3]) {
    const [[, fields] = ['', []]] = await redis.xrange(key(shard), '-', '+')
    const ids = fields.flatMap((field, i) => (field === 'c' && i % 2 === 0 ? [Number(fields[i + 1])] : []))
    t.ok(ids.length > 0, `shard ${shard} carries conversations`)
    t.ok(ids.every((id) => shardOf(id, 4) === shard), `shard ${shard} carries only its conversations (${ids.join(', ')})`)
    t.equal(fields.includes('x') && fields.includes('n'), shard === 0, `the control message and the notice are in shard ${shard === 0 ? '0' : '0, not here'}`)
  }
  for (const { received, handedOver } of [reader, writer]) {
    await until(() => received.length === sent.length, 'every event')
    for (const id of [1, 2, 3, 4, 5, 6, 7]) {
      t.same(received.filter((e) => e.conversationId === id), [event(id, 1), event(id, 2)], `conversation ${id} in order`)
    }
    await until(() => handedOver.length >= 7, 'the rest')
    const others = handedOver.filter((item) => !Array.isArray(item))
    t.same(others.length, 3, 'one control message, one notice, one signal')
    const at = (item: object) => others.findIndex((other) => JSON.stringify(other) === JSON.stringify(item))
    t.ok(at(revoked) >= 0 && at(notice) > at(revoked), 'the control message, then the notice: shard 0 keeps their order')
    t.ok(at(signal) >= 0, 'the signal')
  }
})

t.test("the lag is summed over the shards read; seconds are the furthest behind's", async (t) => {
  const base = `${redisPrefix}${randomUUID()}`
  const { bus, waitFor } = await busOn(base, 2)
  await Promise.all([bus.publish(event(1, 1)), bus.publish(event(2, 1))])
  await waitFor(2)
  t.same(await bus.lag(), { entries: 0, seconds: 0 }, 'caught up on both')
  await bus.close()
  const key = shardKeys(base)
  const newestMs = async (shard: number) => Number((await redis.xrevrange(key(shard), '+', '-', 'COUNT', 1))[0]?.[0].split('-')[0])
  await redis.xadd(key(0), `${(await newestMs(0)) + 1000}-0`, 'c', '2', 's', '2', 'e', '{}')
  await redis.xadd(key(1), `${(await newestMs(1)) + 3000}-0`, 'c', '1', 's', '2', 'e', '{}')
  await redis.xadd(key(1), `${(await newestMs(1)) + 1}-0`, 'c', '1', 's', '3', 'e', '{}')
  t.same(await bus.lag(), { entries: 3, seconds: 3.001 })
})

t.test('while the shard count changes, every bus reads every shard any bus writes to, and the writes follow the smallest live count', async (t) => {
  const base = `${redisPrefix}${randomUUID()}`
  const old = await busOn(base, 1)
  const larger = await busOn(base, 4)
  t.same(await entriesByShard(base, 4), [0, 0, 0, 0])
  const firstTurn = [1, 2, 3, 4, 5].map((id) => event(id, 1))
  await Promise.all(firstTurn.map((e) => larger.bus.publish(e)))
  t.same(await entriesByShard(base, 4), [1, 0, 0, 0], 'the larger count writes as the older node does while it lives')
  await old.waitFor(5)
  t.same(old.received, firstTurn, 'so the older node, reading shard 0 only, gets everything')

  const smaller = await busOn(base, 2)
  await old.bus.close()
  // The count 1 is gone three refreshes after its last bus closed: then the others write with 2.
  await until(async () => {
    await larger.bus.publish(event(9, 1))
    return ((await entriesByShard(base, 4))[1] ?? 0) > 0
  }, 'writes to shard 1')
  const laterTurn = [1, 2, 3, 4, 5].map((id) => event(id, 2))
  await Promise.all(laterTurn.map((e) => larger.bus.publish(e)))
  const [, , third, fourth] = await entriesByShard(base, 4)
  t.same([third, fourth], [0, 0], 'no bus writes past the smallest live count (2)')
  for (const { received } of [larger, smaller]) {
    await until(() => laterTurn.every((e) => received.some((r) => r.conversationId === e.conversationId && r.seq === 2)), 'the later turn')
  }
  t.ok(
    firstTurn.every((e) => smaller.received.every((r) => r.conversationId !== e.conversationId || r.seq !== 1)),
    'the bus that started later sees only what came after it began',
  )

  await smaller.bus.close()
  await until(async () => {
    await larger.bus.publish(event(11, 1))
    return ((await entriesByShard(base, 4))[3] ?? 0) > 0
  }, 'writes to shard 3, once only the count 4 is live')
  const lastTurn = [1, 2, 3, 4, 5, 6, 7, 8].map((id) => event(id, 3))
  const latest = await busOn(base, 2)
  await Promise.all(lastTurn.map((e) => larger.bus.publish(e)))
  t.same(
    (await entriesByShard(base, 4)).map((entries) => entries > 0),
    [true, true, true, true],
    'every shard written to',
  )
  for (const [name, { received }] of [['the writer', larger], ['a bus that starts with 2 while a 4 lives', latest]] as const) {
    const got = await until(() => lastTurn.every((e) => received.some((r) => r.conversationId === e.conversationId && r.seq === 3)) && received, 'the last turn')
    t.same(
      got.filter((e) => e.seq === 3).sort((a, b) => a.conversationId - b.conversationId),
      lastTurn,
      `${name} reads all 4 shards, each event once`,
    )
  }
})
