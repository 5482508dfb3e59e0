import { OwnRedisCluster } from '../test/faults/redis-cluster.js'
import { OwnRedis, onRedis } from '../test/faults/redis-server.js'

/**
 * A Redis the bench starts for itself, so that the Redis CPU it measures is the nodes' alone; it
 * keeps nothing once stopped, so stop() leaves no keys behind.
 */
export interface BenchRedis {
  /** The nodes' settings that point them at it. */
  env: Record<string, string>
  /** Its redis-server processes. */
  pids: number[]
  stop(): Promise<void>
}

/** Runs `describe` on a started Redis, stopping it again if that fails. */
async function described<R extends { stop(): Promise<void> }>(redis: R, describe: (redis: R) => Promise<BenchRedis>): Promise<BenchRedis> {
  try {
    return await describe(redis)
  } catch (err) {
    await redis.stop()
    throw err
  }
}

/** The pid a redis-server reports of itself (INFO server). */
async function serverPid(port: number): Promise<number> {
  const pid = Number(/^process_id:(\d+)/m.exec(await onRedis(port, (redis) => redis.info('server')))?.[1])
  if (!Number.isInteger(pid)) throw new Error(`redis-server on port ${port} reported no process_id`)
  return pid
}

/** One redis-server on a spare loopback port. */
const startSingle = async (): Promise<BenchRedis> =>
  described(await OwnRedis.start(), async (redis) => ({ env: { REDIS_URL: redis.url }, pids: [await serverPid(redis.port)], stop: () => redis.stop() }))

/** A Redis Cluster of 3 masters and 3 replicas on spare loopback ports (test/faults/redis-cluster.ts); its CPU is all six servers'. */
const startCluster = async (): Promise<BenchRedis> =>
  described(await OwnRedisCluster.start(), async (cluster) => ({
    env: { REDIS_CLUSTER_NODES: cluster.nodes },
    pids: (await cluster.members()).map((member) => member.pid),
    stop: () => cluster.stop(),
  }))

/** The kinds of Redis the bench can start, by the name --redis takes. */
export const REDIS_KINDS = {
  single: startSingle,
  cluster: startCluster,
} satisfies Record<string, () => Promise<BenchRedis>>

export type RedisKind = keyof typeof REDIS_KINDS
