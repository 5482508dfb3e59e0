import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { clusterBackends } from '../../src/backends.js'
import { type Config, loadConfig } from '../../src/config.js'
import { prepareDatabase } from '../../src/storage/migrate.js'
import { isolatedEnvironment } from './isolation.js'
import { testNodeEnv } from './node-env.js'

export interface RunningNode {
  app: FastifyInstance
  config: Config
  /** http://127.0.0.1:port */
  url: string
}

/**
 * One node in this process, on its own database and Redis prefix, listening on a free loopback port.
 * For behaviour of a single node; anything that crosses nodes uses real processes (cluster.ts).
 */
export async function startNode(t: Test, label: string, env: Record<string, string> = {}): Promise<RunningNode> {
  const isolated = await isolatedEnvironment(t, label)
  const config = loadConfig({
    DATABASE_URL: isolated.databaseUrl,
    REDIS_URL: isolated.redisUrl,
    REDIS_PREFIX: isolated.redisPrefix,
    PORT: '0',
    ...(await testNodeEnv()),
    ...env,
  })
  await prepareDatabase(config.databaseUrl)
  const app = await buildApp(config, clusterBackends(config))
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const { port } = app.server.address() as { port: number }
  return { app, config, url: `http://127.0.0.1:${port}` }
}
