import type { RedisClient } from './redis.js'

/** The part of a pino logger (fastify's) that the modules below app.ts use. */
export interface Logger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

/** How often a failure that goes on is logged again: enough to see that it goes on, not a line per occurrence. */
const REPEAT_LOG_INTERVAL_MS = 10_000

/**
 * A log line for a failure that may come many times a second while a service is down: the first
 * is logged at once, then at most one per interval, counting the ones it stands for (`suppressed`).
 */
export function rateLimitedLog(log: Logger, level: 'warn' | 'error', msg: string): (fields: object) => void {
  let loggedAt = -Infinity
  let suppressed = 0
  return (fields) => {
    const now = performance.now()
    if (now - loggedAt < REPEAT_LOG_INTERVAL_MS) {
      suppressed++
      return
    }
    log[level](suppressed > 0 ? { ...fields, suppressed } : fields, msg)
    loggedAt = now
    suppressed = 0
  }
}

type RedisError = Error & { code?: string }

/**
 * Logs a Redis connection's failures, rate-limited. Every connection needs an 'error' listener:
 * without one, ioredis prints each failure (one per reconnection attempt) outside the JSON logs. A
 * Cluster tells the failures of its connection to each node apart ('node error'), with the node.
 */
export function logRedisErrors(connection: RedisClient, log: Logger, name: string): void {
  const failed = rateLimitedLog(log, 'warn', 'a Redis connection failed; it reconnects by itself')
  connection.on('error', (err: RedisError) => failed({ connection: name, code: err.code, reason: err.message }))
  connection.on('node error', (err: RedisError, node: string) => failed({ connection: name, node, code: err.code, reason: err.message }))
}
