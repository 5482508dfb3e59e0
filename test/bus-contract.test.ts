import { randomUUID } from 'node:crypto'
import t from 'tap'
import { Redis } from 'ioredis'
import type { Bus } from '../src/bus/bus.js'
import { MemoryBus, MemoryStream } from '../src/bus/memory-bus.js'
import { RedisStreamBus } from '../src/bus/redis-stream.js'
import type { ControlMessage, ConversationSignal, UserNotice } from '../src/protocol/envelopes.js'
import type { EncodedEvent } from '../src/protocol/events.js'
import { event, reading } from './helpers/bus-reader.js'
import { isolatedEnvironment } from './helpers/isolation.js'

// The same assertions against each Bus: what a node relies on, whichever it runs with.
const { redisUrl, redisPrefix } = await isolatedEnvironment(t, 'bus_contract')
const redis = new Redis(redisUrl)
t.teardown(() => redis.quit())

const log = { info: () => {}, warn: () => {}, error: () => {} }

/** Each answers a new shared stream: a function that makes another bus on it, as another node would. */
const implementations: { name: string; stream: () => () => Bus }[] = [
  {
    name: 'RedisStreamBus',
    stream: () => {
      const key = `${redisPrefix}${randomUUID()}`
      return () => new RedisStreamBus(redis, { key, maxLen: 10_000, blockMs: 100, log })
    },
  },
  {
    name: 'MemoryBus',
    stream: () => {
      const stream = new MemoryStream()
      return () => new MemoryBus(stream)
    },
  },
]

for (const impl of implementations) {
  t.test(impl.name, async (t) => {
    t.test('events arrive in publish order, within a turn and across turns', async (t) => {
      const { bus, waitFor } = await reading(t, impl.stream()())
      const turn = [event(1, 1), event(2, 1), event(1, 2)]
      await Promise.all(turn.map((e) => bus.publish(e)))
      await bus.publish(event(3, 1))
      await bus.publish(event(3, 2))
      t.same(await waitFor(5), [...turn, event(3, 1), event(3, 2)])
    })

    t.test('each read tells its entries, one per publishing turn; a reader that handed over all has no lag', async (t) => {
      const { bus, reads, waitFor } = await reading(t, impl.stream()())
      await Promise.all([bus.publish(event(1, 1)), bus.publish(event(1, 2))])
      await bus.publish(event(1, 3))
      await waitFor(3)
      t.equal(reads.reduce((sum, entries) => sum + entries, 0), 2, 'two turns, two entries')
      t.same(await bus.lag(), { entries: 0, seconds: 0 })
    })

    t.test('the hand-over never happens inside the publish call', async (t) => {
      const { bus, received, waitFor } = await reading(t, impl.stream()())
      const published = bus.publish(event(1, 1))
      t.same(received, [], 'nothing yet')
      await published
      t.same(await waitFor(1), [event(1, 1)], 'then the event')
    })

    t.test('control messages, notices and signals come in their place between events', async (t) => {
      const { bus, handedOver, waitFor } = await reading(t, impl.stream()())
      const revoked: ControlMessage = { type: 'sessions.revoked', sessionIds: [7, 8] }
      const notice: UserNotice = { userIds: [3, 12], json: '{"type":"read"}' }
      const signal: ConversationSignal = { conversationId: 5, exceptUserId: 3, json: '{"type":"typing"}' }
      const removal: EncodedEvent = { conversationId: 5, seq: 2, removes: 12, json: '{"type":"member.removed"}' }
      await Promise.all([
        bus.publish(event(5, 1)),
        bus.publishControl(revoked),
        bus.publish(event(1, 2)),
        bus.publish(event(2, 1)),
        bus.publishNotice(notice),
        bus.publishSignal(signal),
        bus.publish(removal),
      ])
      await waitFor(4)
      t.same(handedOver, [[event(5, 1)], revoked, [event(1, 2), event(2, 1)], notice, signal, [removal]], 'one turn, events batched between the others')
    })

    t.test('every bus on one stream sees everything, in the same order', async (t) => {
      const another = impl.stream()
      const a = await reading(t, another())
      const b = await reading(t, another())
      const sent = [event(1, 1), event(1, 2), event(2, 1), event(1, 3)]
      for (const [i, e] of sent.entries()) await (i % 2 ? b : a).bus.publish(e)
      t.same(await a.waitFor(4), sent, 'the first bus')
      t.same(await b.waitFor(4), sent, 'the second bus')
    })

    t.test('a bus sees only what was published after it began to read', async (t) => {
      const another = impl.stream()
      const early = await reading(t, another())
      await early.bus.publish(event(1, 1))
      await early.waitFor(1)
      const late = await reading(t, another())
      await early.bus.publish(event(1, 2))
      t.same(await early.waitFor(2), [event(1, 1), event(1, 2)], 'the bus that read from the start')
      t.same(await late.waitFor(1), [event(1, 2)], 'the bus that began later')
    })

    t.test('a closed bus gets nothing more', async (t) => {
      const another = impl.stream()
      const open = await reading(t, another())
      const closing = await reading(t, another())
      await open.bus.publish(event(1, 1))
      await closing.waitFor(1)
      await closing.bus.close()
      await open.bus.publish(event(1, 2))
      await open.bus.publish(event(1, 3))
      // The open bus has them: the closed one would have had them by now too.
      await open.waitFor(3)
      t.same(closing.received, [event(1, 1)], 'only what came before the close')
    })
  })
}
