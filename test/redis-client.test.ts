import { Cluster, Redis } from 'ioredis'
import t from 'tap'
import { blockingConnection, createRedisClient } from '../src/redis.js'

// The client a node makes, without connecting it: a Cluster gets the timeouts and retries of a
// single connection, and REDIS_URL's user, password and TLS.
const commandTimeoutMs = 1234
const clusterNodes = [{ host: '10.0.0.1', port: 7000 }]

t.test('one server: a Redis at the URL', async (t) => {
  const client = createRedisClient({ url: 'redis://10.0.0.9:6380', clusterNodes: undefined, commandTimeoutMs })
  t.ok(client instanceof Redis)
  t.match((client as Redis).options, { host: '10.0.0.9', port: 6380, commandTimeout: 1234, socketTimeout: 1234, maxRetriesPerRequest: 1, enableAutoPipelining: true })
  const reader = blockingConnection(client, 2000) as Redis
  t.match(reader.options, { host: '10.0.0.9', commandTimeout: 3234, socketTimeout: 3234, enableAutoPipelining: false }, 'the reader waits BLOCK longer')
})

t.test('a Redis Cluster: the URL only for its credentials and TLS', async (t) => {
  const client = createRedisClient({ url: 'rediss://chat:s%40cret@ignored.example:6379', clusterNodes, commandTimeoutMs })
  t.ok(client instanceof Cluster)
  const { options } = client as Cluster
  t.match(options, { enableAutoPipelining: true, enableOfflineQueue: false })
  t.match(options.redisOptions, { commandTimeout: 1234, socketTimeout: 1234, maxRetriesPerRequest: 1, username: 'chat', password: 's@cret', tls: {} })
  const reader = blockingConnection(client, 2000) as Cluster
  t.ok(reader instanceof Cluster)
  t.match(reader.options, { enableAutoPipelining: false })
  t.match(reader.options.redisOptions, { commandTimeout: 3234, socketTimeout: 3234, password: 's@cret' }, 'and waits BLOCK longer')
})

t.test('a Redis Cluster without credentials: plain TCP, no password', async (t) => {
  const { options } = createRedisClient({ url: 'redis://127.0.0.1:6379', clusterNodes, commandTimeoutMs }) as Cluster
  t.match(options.redisOptions, { username: undefined, password: undefined, tls: undefined })
})
