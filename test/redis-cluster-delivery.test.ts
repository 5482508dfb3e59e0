import t from 'tap'
import { shardKeys } from '../src/bus/shards.js'
import { startCluster } from './helpers/cluster.js'
import { testClusterBehaviour } from './helpers/cluster-behaviour.js'
import { ownRedisCluster } from './helpers/redis-cluster-client.js'

// The cluster's core behaviour on a Redis Cluster of the test's own (3 masters, 3 replicas), with
// the stream in 3 shards, and with live delivery by sharded Pub/Sub.
const { cluster, client } = await ownRedisCluster(t)
const SHARDS = 3

t.test('the stream shards sit on different masters', async (t) => {
  const key = shardKeys('chat:events')
  const masters = await Promise.all([1, 2].map((shard) => cluster.masterOf(key(shard))))
  t.not(masters[0], masters[1], 'shards 1 and 2 on two masters')
})

for (const routing of ['broadcast', 'pubsub']) {
  t.test(`BUS_ROUTING=${routing}, STREAM_SHARDS=${SHARDS}`, async (t) => {
    const prefix = `${routing}:`
    const nodes = await startCluster(t, `redis_cluster_${routing}`, 3, {
      REDIS_CLUSTER_NODES: cluster.nodes,
      REDIS_PREFIX: prefix,
      STREAM_SHARDS: String(SHARDS),
      BUS_ROUTING: routing,
    })
    testClusterBehaviour(t, nodes)
    t.test('what went by the streams is in the cluster', async (t) => {
      const key = shardKeys(`${prefix}events`)
      const entries = await Promise.all(Array.from({ length: SHARDS }, (_, shard) => client.xlen(key(shard))))
      if (routing === 'broadcast') t.ok(entries.every((n) => n > 0), `every shard has entries (${entries.join(', ')})`)
      else t.same(entries.slice(1), [0, 0], 'with Pub/Sub, events never reach the streams: shard 0 carries notices only')
    })
  })
}
