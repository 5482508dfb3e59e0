import { Cluster, Redis } from 'ioredis'
import t from 'tap'
import { createRedisClient } from '../src/redis.js'

// The client a node makes, without connecting it: a Cluster gets the timeouts and retries of a
// single connection, and REDIS_URL's user, password and TLS.
const commandTimeoutMs = 1234
const clusterNodes = [{ host: '10.0.0.1', port: 7000 }]

t.test('one server: a Redis at the URL', async (t) => {
  const client = createRedisClient({ url: 'redis://10.0.0.9:6380', clusterNodes: undefined, commandTimeoutMs })
  t.ok(client instanceof Redis)
  t.match((client as Redis).options, { host: '10.0.0.9', port: 6380, commandTimeout: 1234, socketTimeout: 1234, maxRetriesPerRequest: 1, enableAutoPipelining: true })
})

t.test('a Redis Cluster: the URL only for its credentials and TLS', async (t) => {
  const client = createRedisClient({ url: 'rediss://chat:s%40cret@ignored.example:6379', clusterNodes, commandTimeoutMs })
  t.ok(client instanceof Cluster)
  const { options } = client as Cluster
  t.match(options, { enableAutoPipelining: true, enableOfflineQueue: false })
  t.match(options.redisOptions, { commandTimeout: 1234, socketTimeout: 1234, maxRetriesPerRequest: 1, username: 'chat', password: 's@cret', tls: {} })
})

t.test('a Redis Cluster without credentials: plain TCP, no password', async (t) => {
  const { options } = createRedisClient({ url: 'redis://127.0.0.1:6379', clusterNodes, commandTimeoutMs }) as Cluster
  t.match(options.redisOptions, { username: undefined, password: undefined, tls: undefined })
})
