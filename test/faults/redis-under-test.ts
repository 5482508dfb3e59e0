/**
 * A Redis of a test's own, one redis-server (OwnRedis) or a Redis Cluster (OwnRedisCluster), that a
 * fault may kill, start again empty or make refuse writes. Never the machine's shared Redis.
 */
export interface RedisUnderTest {
  /** Kills every server (SIGKILL: they lose everything) and waits for them to be gone. */
  kill(): Promise<void>
  /** After kill(): starts it again, empty, on the same ports, and resolves once it serves every key. */
  startAgain(): Promise<void>
  /** While on, every write is refused with an OOM error and reads still work, as on a Redis out of memory. */
  refuseWrites(on: boolean): Promise<void>
  /** Kills it for good and removes whatever it kept. */
  stop(): Promise<void>
}
