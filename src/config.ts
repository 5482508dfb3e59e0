import { hostname } from 'node:os'

/** Every setting of a node. This module is the only reader of process.env. */
export interface Config {
  host: string
  port: number
  nodeId: string
  logLevel: string
  databaseUrl: string
  redisUrl: string
  /** Prefix of every Redis key this deployment uses; lets several deployments (or test files) share one Redis. */
  redisPrefix: string
  /** Approximate cap on the shared stream (XADD MAXLEN ~). */
  streamMaxLen: number
  /** How long a post waits for others to share its Postgres statement and commit. */
  appendLingerMs: number
  /** After a read that did not fill a batch, the stream reader waits this long so that the next one carries more. */
  streamReadLingerMs: number
  /** Origins allowed to open a WebSocket besides the node's own origin. */
  allowedOrigins: string[]
  cookieSecure: boolean
  sessionTtlSeconds: number
  /** How long a node trusts a session it has looked up before it asks Postgres again; 0 asks every time. */
  sessionCacheMs: number
  bcryptCost: number
  /** Most events a resuming subscriber gets from Postgres in one go; past it the client pages. */
  resumeLimit: number
  /** A socket whose unsent bytes pass this is closed as a slow consumer. */
  wsMaxBufferedBytes: number
  /** A conversation's frames are spaced (local subscribers × this) µs apart, up to coalesceMaxMs; events meanwhile share a frame. */
  coalesceUsPerSubscriber: number
  coalesceMaxMs: number
  /** How long a node waits for a missing seq on the stream before reading it from Postgres. */
  gapTimeoutMs: number
  shutdownGraceMs: number
  trustProxy: boolean
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

type Env = Record<string, string | undefined>

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got "${raw}"`)
  const value = Number(raw)
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`)
  return value
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (raw === 'true' || raw === '1') return true
  if (raw === 'false' || raw === '0') return false
  throw new ConfigError(`${name} must be true or false, got "${raw}"`)
}

function url(env: Env, name: string, fallback: string, protocols: string[]): string {
  const raw = env[name] || fallback
  let parsed: URL
  try {
    parsed = new URL(raw)
  } catch {
    throw new ConfigError(`${name} is not a valid URL`)
  }
  if (!protocols.includes(parsed.protocol)) throw new ConfigError(`${name} must use ${protocols.join(' or ')}`)
  return raw
}

function origins(env: Env, name: string): string[] {
  const raw = env[name] ?? ''
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      try {
        return new URL(s).origin
      } catch {
        throw new ConfigError(`${name} holds "${s}", which is not an origin such as https://chat.example.com`)
      }
    })
}

export function loadConfig(env: Env = process.env): Config {
  return {
    host: env.HOST || '127.0.0.1',
    port: integer(env, 'PORT', 3000, 0, 65535),
    nodeId: env.NODE_ID || `${hostname()}-${process.pid}`,
    logLevel: env.LOG_LEVEL || 'info',
    databaseUrl: url(env, 'DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/chat', ['postgres:', 'postgresql:']),
    redisUrl: url(env, 'REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']),
    redisPrefix: env.REDIS_PREFIX ?? 'chat:',
    streamMaxLen: integer(env, 'STREAM_MAXLEN', 100_000, 1_000, 100_000_000),
    streamReadLingerMs: integer(env, 'STREAM_READ_LINGER_MS', 2, 0, 50),
    appendLingerMs: integer(env, 'APPEND_LINGER_MS', 2, 0, 50),
    allowedOrigins: origins(env, 'ALLOWED_ORIGINS'),
    cookieSecure: boolean(env, 'COOKIE_SECURE', false),
    sessionTtlSeconds: integer(env, 'SESSION_TTL_SECONDS', 30 * 24 * 3600, 60, 365 * 24 * 3600),
    sessionCacheMs: integer(env, 'SESSION_CACHE_MS', 5000, 0, 60_000),
    bcryptCost: integer(env, 'BCRYPT_COST', 12, 10, 15),
    resumeLimit: integer(env, 'RESUME_LIMIT', 500, 1, 10_000),
    wsMaxBufferedBytes: integer(env, 'WS_MAX_BUFFERED_BYTES', 1024 * 1024, 1024, 256 * 1024 * 1024),
    coalesceUsPerSubscriber: integer(env, 'COALESCE_US_PER_SUBSCRIBER', 40, 0, 1_000_000),
    coalesceMaxMs: integer(env, 'COALESCE_MAX_MS', 25, 0, 1000),
    gapTimeoutMs: integer(env, 'GAP_TIMEOUT_MS', 500, 10, 60_000),
    shutdownGraceMs: integer(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 300_000),
    trustProxy: boolean(env, 'TRUST_PROXY', false),
  }
}
