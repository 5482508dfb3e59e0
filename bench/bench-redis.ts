import { Redis } from 'ioredis'
import { OwnRedis } from '../test/faults/redis-server.js'

/**
 * A Redis the bench starts for itself, so that the Redis CPU it measures is the nodes' alone; it
 * keeps nothing on disk, so stop() leaves no keys behind.
 */
export interface BenchRedis {
  /** The nodes' settings that point them at it. */
  env: Record<string, string>
  /** Its redis-server processes. */
  pids: number[]
  stop(): Promise<void>
}

/** The pid a redis-server reports of itself (INFO server). */
async function serverPid(url: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    const pid = Number(/^process_id:(\d+)/m.exec(await redis.info('server'))?.[1])
    if (!Number.isInteger(pid)) throw new Error(`${url} reported no process_id`)
    return pid
  } finally {
    redis.disconnect()
  }
}

/** One redis-server on a spare loopback port. */
async function startSingle(): Promise<BenchRedis> {
  const redis = await OwnRedis.start()
  try {
    return { env: { REDIS_URL: redis.url }, pids: [await serverPid(redis.url)], stop: () => redis.stop() }
  } catch (err) {
    await redis.stop()
    throw err
  }
}

/** The kinds of Redis the bench can start, by the name --redis takes. */
export const REDIS_KINDS = {
  single: startSingle,
} satisfies Record<string, () => Promise<BenchRedis>>

export type RedisKind = keyof typeof REDIS_KINDS
