import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { sql } from 'kysely'
import { operation } from '../protocol/operations.js'
import { ReadinessReply, StatusReply } from '../protocol/rest.js'
import type { Db } from '../storage/db.js'

const CHECK_TIMEOUT_MS = 2000

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** /healthz: the process answers. /readyz: Postgres and Redis answer and the node is not shutting down. */
export async function healthRoutes(app: FastifyInstance, options: { db: Db; redis: Redis; isClosing: () => boolean }) {
  app.get('/healthz', { schema: operation('health', 'The process answers', 'none', { 200: StatusReply }) }, async () => ({ status: 'ok' }))

  // Its 503 says which check failed: the readiness shape, not the error one.
  const readiness = { 200: ReadinessReply, 503: { ...ReadinessReply, description: 'Postgres or Redis does not answer, or the node is shutting down' } }
  const ready = operation('health', 'Postgres and Redis answer and the node is not shutting down', 'none', readiness)
  app.get('/readyz', { schema: ready }, async (_request, reply) => {
    if (options.isClosing()) return reply.code(503).send({ status: 'shutting down' })
    const [postgres, redis] = await Promise.allSettled([
      within(sql`SELECT 1`.execute(options.db), CHECK_TIMEOUT_MS),
      within(options.redis.ping(), CHECK_TIMEOUT_MS),
    ])
    const checks = { postgres: postgres.status === 'fulfilled', redis: redis.status === 'fulfilled' }
    const ready = checks.postgres && checks.redis
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', ...checks })
  })
}
