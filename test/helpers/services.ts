import { answers } from '../../src/backends.js'

/**
 * Where the tests find Postgres and Redis: the environment first (TEST_DATABASE_URL or DATABASE_URL,
 * REDIS_URL), then the loopback defaults when something listens there, then containers started by
 * testcontainers when a container engine is reachable. Resolved once per test process.
 */
export interface Services {
  /** A server URL; each test file creates its own database on it. */
  postgresUrl: string
  redisUrl: string
}

const LOOPBACK_POSTGRES = 'postgres://postgres@127.0.0.1:5432/postgres'
const LOOPBACK_REDIS = 'redis://127.0.0.1:6379'

async function postgresFromContainer(): Promise<string> {
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql')
  const container = await new PostgreSqlContainer('postgres:16-alpine').withUsername('postgres').withPassword('postgres').start()
  return container.getConnectionUri().replace(/\/[^/]*$/, '/postgres')
}

async function redisFromContainer(): Promise<string> {
  const { RedisContainer } = await import('@testcontainers/redis')
  const container = await new RedisContainer('redis:7-alpine').start()
  return container.getConnectionUrl()
}

let resolved: Promise<Services> | undefined

export function services(): Promise<Services> {
  resolved ??= (async () => {
    const envPostgres = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL
    const postgresUrl = envPostgres
      ? envPostgres
      : (await answers(LOOPBACK_POSTGRES)) ? LOOPBACK_POSTGRES : await postgresFromContainer()
    const redisUrl = process.env.REDIS_URL
      ? process.env.REDIS_URL
      : (await answers(LOOPBACK_REDIS)) ? LOOPBACK_REDIS : await redisFromContainer()
    return { postgresUrl, redisUrl }
  })()
  return resolved
}
