import type { Test } from 'tap'
import { type NodeProcess, freePorts, spawnNode, stopNodes } from '../../deploy/spawn-node.js'
import { isolatedEnvironment } from './isolation.js'
import { testNodeEnv } from './node-env.js'

/**
 * N real node processes sharing one fresh database and one Redis prefix, started at the same time (so
 * they race to create the database and migrate it). Each is stopped with SIGTERM when the test ends.
 */
/** The nodes, and the database they share (for tests that look at or change it directly). */
export type Cluster = NodeProcess[] & { databaseUrl: string }

export async function startCluster(t: Test, label: string, size = 3, env: Record<string, string> = {}): Promise<Cluster> {
  const isolated = await isolatedEnvironment(t, label)
  const common = await testNodeEnv()
  const ports = await freePorts(size)
  const nodes = await Promise.all(
    ports.map((port, i) =>
      spawnNode(port, {
        DATABASE_URL: isolated.databaseUrl,
        REDIS_URL: isolated.redisUrl,
        REDIS_PREFIX: isolated.redisPrefix,
        NODE_ID: `${label}-${i}`,
        ...common,
        ...env,
      }),
    ),
  )
  t.teardown(() => stopNodes(nodes))
  return Object.assign(nodes, { databaseUrl: isolated.databaseUrl })
}
