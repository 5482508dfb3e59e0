import type { Test } from 'tap'
import { loadConfig } from '../../src/config.js'
import { type RedisClient, createRedisClient } from '../../src/redis.js'
import { OwnRedisCluster } from '../faults/redis-cluster.js'

/**
 * A Redis Cluster of the test's own and a client to it made as a node makes its own (from
 * REDIS_CLUSTER_NODES), both ended when the test ends.
 */
export async function ownRedisCluster(t: Test): Promise<{ cluster: OwnRedisCluster; client: RedisClient }> {
  const cluster = await OwnRedisCluster.start()
  const config = loadConfig({ REDIS_CLUSTER_NODES: cluster.nodes })
  const client = createRedisClient({ url: config.redisUrl, clusterNodes: config.redisClusterNodes, commandTimeoutMs: config.redisCommandTimeoutMs })
  t.teardown(async () => {
    client.disconnect()
    await cluster.stop()
  })
  await client.connect()
  return { cluster, client }
}
