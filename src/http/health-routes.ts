import type { FastifyInstance } from 'fastify'
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

/**
 * /healthz: the process answers. /readyz: Postgres and the node's other services (`checks`: Redis in
 * a cluster, none for a node on embedded storage) answer, and the node is not shutting down.
 */
export async function healthRoutes(
  app: FastifyInstance,
  options: { db: Db; checks: Record<string, () => Promise<unknown>>; isClosing: () => boolean },
) {
  const checks: [string, () => Promise<unknown>][] = [['postgres', () => sql`SELECT 1`.execute(options.db)], ...Object.entries(options.checks)]
  app.get('/healthz', { schema: operation('health', 'The process answers', 'none', { 200: StatusReply }) }, async () => ({ status: 'ok' }))

  // Its 503 says which check failed: the readiness shape, not the error one.
  const readiness = { 200: ReadinessReply, 503: { ...ReadinessReply, description: 'Postgres or Redis (a cluster node) does not answer, or the node is shutting down' } }
  const ready = operation('health', 'Postgres and Redis (a cluster node) answer and the node is not shutting down', 'none', readiness)
  app.get('/readyz', { schema: ready }, async (_request, reply) => {
    if (options.isClosing()) return reply.code(503).send({ status: 'shutting down' })
    const outcomes = await Promise.allSettled(checks.map(([, check]) => within(check(), CHECK_TIMEOUT_MS)))
    const answered = Object.fromEntries(checks.map(([name], i) => [name, outcomes[i]?.status === 'fulfilled']))
    const ready = Object.values(answered).every(Boolean)
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', ...answered })
  })
}
