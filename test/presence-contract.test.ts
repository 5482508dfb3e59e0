import { randomUUID } from 'node:crypto'
import t from 'tap'
import { Redis } from 'ioredis'
import { MemoryPresenceStore } from '../src/presence/memory-store.js'
import { RedisPresenceStore } from '../src/presence/redis-store.js'
import type { PresenceStore } from '../src/presence/store.js'
import { isolatedEnvironment } from './helpers/isolation.js'
import { ownRedisCluster } from './helpers/redis-cluster-client.js'
import { until } from './helpers/waiting.js'

// The same assertions against each PresenceStore (the Redis one on a server and on a Redis Cluster
// of the test's own): each change is answered to exactly one caller.
const { redisUrl, redisPrefix } = await isolatedEnvironment(t, 'presence_contract')
const redis = new Redis(redisUrl)
t.teardown(() => redis.quit())
const cluster = await ownRedisCluster(t)

/** Each answers a new, empty store. */
const implementations: { name: string; store: () => PresenceStore }[] = [
  { name: 'RedisPresenceStore', store: () => new RedisPresenceStore(redis, `${redisPrefix}${randomUUID()}:`) },
  { name: 'RedisPresenceStore on a Redis Cluster', store: () => new RedisPresenceStore(cluster.client, `${randomUUID()}:`) },
  { name: 'MemoryPresenceStore', store: () => new MemoryPresenceStore() },
]

const LONG_TTL_MS = 60_000

for (const impl of implementations) {
  t.test(impl.name, async (t) => {
    t.test('refresh answers the users who came online, once, whatever the number of nodes', async (t) => {
      const store = impl.store()
      t.same(await store.refresh('a', [1, 2], LONG_TTL_MS), [1, 2], 'first seen on node a')
      t.same(await store.refresh('b', [1, 3], LONG_TTL_MS), [3], 'user 1 on a second node is no change')
      t.same(await store.refresh('a', [1, 2], LONG_TTL_MS), [], 'a renewal is no change')
      t.same(await store.refresh('c', [4, 4], LONG_TTL_MS), [4], 'a user twice in one call, answered once')
      t.same([...(await store.onlineAmong([1, 2, 3, 4, 5]))].sort(), [1, 2, 3, 4], 'online: each user refreshed anywhere')
    })

    t.test('release answers a user when their last node lets go', async (t) => {
      const store = impl.store()
      await store.refresh('a', [1, 2], LONG_TTL_MS)
      await store.refresh('b', [1], LONG_TTL_MS)
      t.same(await store.release('a', [1, 2]), [2], 'user 1 is still on node b')
      t.same([...(await store.onlineAmong([1, 2]))], [1], 'online: user 1 only')
      t.same(await store.release('b', [1]), [1], 'the last node')
      t.same(await store.release('b', [1]), [], 'a second release is no change')
      t.same(await store.release('a', [9]), [], 'nor is the release of a user never seen')
      t.same([...(await store.onlineAmong([1, 2]))], [], 'online: nobody')
      t.same(await store.refresh('b', [1], LONG_TTL_MS), [1], 'back online')
    })

    t.test('sweep takes out expired pairs, each change answered to one of the sweepers', async (t) => {
      const store = impl.store()
      await store.refresh('dead', [1, 2], 50)
      await store.refresh('alive', [2], LONG_TTL_MS)
      const swept: number[] = []
      // Two nodes sweeping at once, until user 1's pair has expired and gone.
      await until(async () => {
        for (const offline of await Promise.all([store.sweep(), store.sweep()])) swept.push(...offline)
        return swept.length > 0
      }, 'the expired pairs swept')
      t.same(swept, [1], 'user 1 offline, once; user 2 still has a live pair')
      t.same(await store.sweep(), [], 'nothing left to sweep')
      t.same([...(await store.onlineAmong([1, 2]))], [2], 'online: user 2 only')
      t.same(await store.release('alive', [2]), [2], "user 2's expired pair on the dead node went with the sweep")
    })

    t.test('onlineAmong answers only users with a pair', async (t) => {
      const store = impl.store()
      t.same([...(await store.onlineAmong([]))], [], 'no users, no question')
      await store.refresh('a', [7], LONG_TTL_MS)
      t.same([...(await store.onlineAmong([6, 7, 8]))], [7], 'the one refreshed')
    })
  })
}
