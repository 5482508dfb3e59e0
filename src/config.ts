import { hostname } from 'node:os'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { JWK } from 'jose'
import type { ExternalIssuerConfig } from './auth/external-issuer.js'
import type { RateLimitSettings } from './auth/rate-limits.js'
import {
  type Env,
  type TrustProxy,
  LOG_LEVELS,
  boolean,
  host,
  hostPorts,
  integer,
  json,
  limit,
  oneOf,
  origins,
  readSettingFile,
  trustProxy,
  url,
} from './config/values.js'
import { ConfigError } from './errors.js'
import type { ClusterNodeAddress } from './redis.js'

/** Every setting of a node. This module is the only reader of process.env. */
export const BUS_ROUTINGS = ['broadcast', 'pubsub'] as const
export type BusRouting = (typeof BUS_ROUTINGS)[number]

export interface Config {
  host: string
  port: number
  nodeId: string
  logLevel: string
  databaseUrl: string
  /** Whether a node applies pending migrations as it starts; without, a separate job does (`npm run migrate`) and a node refuses an old schema. */
  migrateOnStart: boolean
  redisUrl: string
  /**
   * A Redis Cluster's nodes (REDIS_CLUSTER_NODES): when set, every Redis use goes to the cluster, and
   * of REDIS_URL only the user, password and scheme (rediss: for TLS) are used.
   */
  redisClusterNodes: ClusterNodeAddress[] | undefined
  /**
   * Neither DATABASE_URL nor REDIS_URL nor REDIS_CLUSTER_NODES is set, so the services are the
   * loopback defaults; when nothing answers there either, the node runs alone on embedded storage
   * (backends.ts).
   */
  servicesUnset: boolean
  /** Where a node on embedded storage keeps its data. */
  dataDir: string
  /** Prefix of every Redis key this deployment uses; lets several deployments (or test files) share one Redis. */
  redisPrefix: string
  /** Approximate cap on the shared streams together (XADD MAXLEN ~, split evenly among the shards). */
  streamMaxLen: number
  /** How many streams the events are spread over: a conversation's go to the one its id picks. */
  streamShards: number
  /** How often a node announces its shard count and reads the other nodes'. */
  streamShardsRefreshMs: number
  /**
   * Which events reach a node: all (`broadcast`), or only those of the conversations it watches, by
   * sharded Pub/Sub (`pubsub`).
   */
  busRouting: BusRouting
  /** After a busy read (several items, not a full batch), the stream reader waits this long so that the next one carries more; after a lone item it reads again at once. */
  streamReadLingerMs: number
  /** The built web client (`npm run build:web`), served at `/`. */
  webClientDir: string
  /** Origins besides the node's own whose pages may use its cookie (CSRF rule, WebSocket Origin check) and call it across origins (CORS). */
  allowedOrigins: string[]
  cookieSecure: boolean
  /** Whether admin routes accept HTTP Basic (POST /auth/token always does). Only behind HTTPS: it sends the password with every request. */
  allowBasicAuth: boolean
  /** Absolute lifetime of a session, however much it is used. */
  sessionTtlSeconds: number
  /** A session unused for this long ends. An open socket counts as use. */
  sessionIdleSeconds: number
  /** How often a node re-checks the sessions of its open sockets (expiry, and revocations it missed). */
  sessionCheckSeconds: number
  /** How long a node's word that a user is online lasts without renewal: a dead node's users go offline within this and a third. */
  presenceTtlSeconds: number
  /** How long a node trusts a session it has looked up before it asks Postgres again; 0 asks every time. */
  sessionCacheMs: number
  bcryptCost: number
  /** Most events a resuming subscriber gets from Postgres in one go; past it the client pages. */
  resumeLimit: number
  /** Most bytes of events a resume page holds, roughly (at least one event); past it the client pages. */
  resumeMaxBytes: number
  /** How often a node reads the last seqs of recently changed conversations, to find events whose stream entry was lost. */
  headsIntervalMs: number
  /** A socket whose unsent bytes pass this is closed as a slow consumer. */
  wsMaxBufferedBytes: number
  /** A conversation's frames are spaced (local subscribers × this) µs apart, up to coalesceMaxMs; events meanwhile share a frame. */
  coalesceUsPerSubscriber: number
  coalesceMaxMs: number
  /** How long a node waits for a missing seq on the stream before reading it from Postgres. */
  gapTimeoutMs: number
  /** Most Postgres connections one node holds: nodes × this must stay under the server's max_connections. */
  dbPoolMax: number
  /** The longest wait for a Postgres connection: to open one, or for a pooled one to be free. */
  dbConnectTimeoutMs: number
  /** The longest a Postgres statement may take, or a transaction sit idle; past it the request answers 503. */
  dbQueryTimeoutMs: number
  /** A Redis command with no answer in this long fails, and its silent connection is replaced. */
  redisCommandTimeoutMs: number
  /** Every socket is pinged once per interval; one that did not answer the previous ping is dropped. */
  wsPingIntervalMs: number
  /** On shutdown, how long /readyz answers 503 before the first socket is closed: time for the balancer to notice. */
  shutdownDrainMs: number
  /** Over how long the sockets' 1012 closes are spread, so that their clients do not all reconnect at once. */
  shutdownCloseWindowMs: number
  /** The longest a shutdown may take, the drain and the close window included; past it the node exits 1. */
  shutdownGraceMs: number
  trustProxy: TrustProxy
  /** Private JWKs, oldest first: the last signs access tokens, all verify. Empty: keys shared through Postgres. */
  jwtKeys: JWK[]
  /** Without JWT_KEYS, how often a node re-reads the shared keys (a rotated key signs only after twice this). */
  signingKeysRefreshMs: number
  jwtIssuer: string
  jwtAudience: string
  accessTokenTtlSeconds: number
  externalIssuer: ExternalIssuerConfig | undefined
  /** The first admin, created at start-up when no account has this name. */
  bootstrapAdmin: { username: string; password: string } | undefined
  rateLimits: RateLimitSettings
  metrics: MetricsAccess
}

/** Where /metrics is served and who may read it; with neither set it is served nowhere (docs/operations.md, "Metrics"). */
export interface MetricsAccess {
  /** A listener of its own on this port (same HOST) serves /metrics, and the main port does not. */
  port: number | undefined
  /** /metrics then needs `Authorization: Bearer <token>`. */
  token: string | undefined
}

/** The checkout (or image) root: this file is src/config.ts in it, or dist/src/config.js once compiled. */
const root = new URL(import.meta.url.endsWith('.js') ? '../../' : '../', import.meta.url)

/** JWT_KEYS (or the file JWT_KEYS_FILE): a JSON array of private JWKs, or a JWKS {"keys": [...]}. */
function jwtKeys(env: Env): JWK[] {
  const file = env.JWT_KEYS_FILE
  const name = file ? 'JWT_KEYS_FILE' : 'JWT_KEYS'
  const raw = file ? readSettingFile(name, file) : env.JWT_KEYS
  if (!raw) return []
  const value = json(raw, name) as { keys?: unknown } | unknown[]
  const keys = Array.isArray(value) ? value : value?.keys
  if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'object' || k === null))
    throw new ConfigError(`${name} must hold an array of JWKs or {"keys": [...]}`)
  return keys as JWK[]
}

function externalIssuer(env: Env): ExternalIssuerConfig | undefined {
  const issuer = env.EXTERNAL_JWT_ISSUER
  if (!issuer) return undefined
  const audience = env.EXTERNAL_JWT_AUDIENCE
  if (!audience) throw new ConfigError('EXTERNAL_JWT_AUDIENCE is required with EXTERNAL_JWT_ISSUER')
  const sources = [
    env.EXTERNAL_JWT_JWKS_URL && { jwksUrl: url(env, 'EXTERNAL_JWT_JWKS_URL', '', ['https:', 'http:']) },
    env.EXTERNAL_JWT_PUBLIC_KEY && { publicKeyPem: env.EXTERNAL_JWT_PUBLIC_KEY },
    env.EXTERNAL_JWT_SECRET && { secret: env.EXTERNAL_JWT_SECRET },
  ].filter((s) => !!s)
  if (sources.length !== 1)
    throw new ConfigError('EXTERNAL_JWT_ISSUER needs exactly one of EXTERNAL_JWT_JWKS_URL, EXTERNAL_JWT_PUBLIC_KEY and EXTERNAL_JWT_SECRET')
  const key = sources[0] as ExternalIssuerConfig['key']
  if ('secret' in key && Buffer.byteLength(key.secret) < 32) throw new ConfigError('EXTERNAL_JWT_SECRET must be at least 32 bytes')
  const algorithms = env.EXTERNAL_JWT_ALGORITHMS?.split(',').map((a) => a.trim()).filter((a) => a !== '')
  const hmac = algorithms?.filter((a) => a.startsWith('HS')) ?? []
  if (algorithms && hmac.length !== ('secret' in key ? algorithms.length : 0))
    throw new ConfigError('EXTERNAL_JWT_ALGORITHMS: HS* algorithms go with EXTERNAL_JWT_SECRET only, and only they do')
  return { issuer, audience, key, algorithms, usernameClaim: env.EXTERNAL_JWT_USERNAME_CLAIM || 'preferred_username' }
}

/** The drain delay and the close window come out of the grace, which must leave room for closing the rest. */
function shutdown(env: Env): Pick<Config, 'shutdownDrainMs' | 'shutdownCloseWindowMs' | 'shutdownGraceMs'> {
  const shutdownDrainMs = integer(env, 'SHUTDOWN_DRAIN_MS', 5000, 0, 300_000)
  const shutdownCloseWindowMs = integer(env, 'SHUTDOWN_CLOSE_WINDOW_MS', 2000, 0, 300_000)
  const shutdownGraceMs = integer(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 300_000)
  if (shutdownDrainMs + shutdownCloseWindowMs >= shutdownGraceMs)
    throw new ConfigError(
      `SHUTDOWN_DRAIN_MS + SHUTDOWN_CLOSE_WINDOW_MS (${shutdownDrainMs + shutdownCloseWindowMs}) must be less than SHUTDOWN_GRACE_MS (${shutdownGraceMs}), which also covers finishing requests and closing connections`,
    )
  return { shutdownDrainMs, shutdownCloseWindowMs, shutdownGraceMs }
}

/** The shortest METRICS_TOKEN accepted: long enough that guessing it over the network is hopeless. */
const METRICS_TOKEN_MIN_CHARS = 16

function metricsAccess(env: Env, mainPort: number): MetricsAccess {
  const port = env.METRICS_PORT ? integer(env, 'METRICS_PORT', 0, 1, 65535) : undefined
  if (port !== undefined && port === mainPort) throw new ConfigError(`METRICS_PORT must differ from PORT (${mainPort})`)
  const token = env.METRICS_TOKEN || undefined
  // A token with white space could never be presented as one Authorization: Bearer value.
  if (token !== undefined && (token.length < METRICS_TOKEN_MIN_CHARS || /\s/.test(token)))
    throw new ConfigError(`METRICS_TOKEN must be at least ${METRICS_TOKEN_MIN_CHARS} characters with no white space`)
  return { port, token }
}

function bootstrapAdmin(env: Env): Config['bootstrapAdmin'] {
  const username = env.ADMIN_USERNAME
  if (!username) return undefined
  const password = env.ADMIN_PASSWORD
  if (!password) throw new ConfigError('ADMIN_PASSWORD is required with ADMIN_USERNAME')
  return { username, password }
}

export function loadConfig(env: Env = process.env): Config {
  const port = integer(env, 'PORT', 3000, 0, 65535)
  return {
    host: host(env),
    port,
    nodeId: env.NODE_ID || `${hostname()}-${process.pid}`,
    logLevel: oneOf<string>(env, 'LOG_LEVEL', 'info', LOG_LEVELS),
    databaseUrl: url(env, 'DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/chat', ['postgres:', 'postgresql:']),
    migrateOnStart: boolean(env, 'MIGRATE_ON_START', true),
    redisUrl: url(env, 'REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']),
    redisClusterNodes: hostPorts(env, 'REDIS_CLUSTER_NODES'),
    servicesUnset: !env.DATABASE_URL && !env.REDIS_URL && !env.REDIS_CLUSTER_NODES,
    dataDir: resolve(env.DATA_DIR || 'data'),
    redisPrefix: env.REDIS_PREFIX ?? 'chat:',
    streamMaxLen: integer(env, 'STREAM_MAXLEN', 100_000, 1_000, 100_000_000),
    streamShards: integer(env, 'STREAM_SHARDS', 1, 1, 1024),
    streamShardsRefreshMs: integer(env, 'STREAM_SHARDS_REFRESH_MS', 10_000, 100, 600_000),
    busRouting: oneOf(env, 'BUS_ROUTING', 'broadcast', BUS_ROUTINGS),
    streamReadLingerMs: integer(env, 'STREAM_READ_LINGER_MS', 2, 0, 50),
    allowedOrigins: origins(env, 'ALLOWED_ORIGINS'),
    webClientDir: env.WEB_CLIENT_DIR || fileURLToPath(new URL('web/dist', root)),
    cookieSecure: boolean(env, 'COOKIE_SECURE', false),
    allowBasicAuth: boolean(env, 'ALLOW_BASIC_AUTH', false),
    sessionTtlSeconds: integer(env, 'SESSION_TTL_SECONDS', 30 * 24 * 3600, 60, 365 * 24 * 3600),
    sessionIdleSeconds: integer(env, 'SESSION_IDLE_SECONDS', 7 * 24 * 3600, 60, 365 * 24 * 3600),
    sessionCheckSeconds: integer(env, 'SESSION_CHECK_SECONDS', 30, 1, 3600),
    presenceTtlSeconds: integer(env, 'PRESENCE_TTL_SECONDS', 30, 1, 3600),
    sessionCacheMs: integer(env, 'SESSION_CACHE_MS', 5000, 0, 60_000),
    bcryptCost: integer(env, 'BCRYPT_COST', 12, 10, 15),
    resumeLimit: integer(env, 'RESUME_LIMIT', 500, 1, 10_000),
    resumeMaxBytes: integer(env, 'RESUME_MAX_BYTES', 128 * 1024, 1024, 64 * 1024 * 1024),
    headsIntervalMs: integer(env, 'HEADS_INTERVAL_MS', 1000, 100, 60_000),
    wsMaxBufferedBytes: integer(env, 'WS_MAX_BUFFERED_BYTES', 1024 * 1024, 1024, 256 * 1024 * 1024),
    coalesceUsPerSubscriber: integer(env, 'COALESCE_US_PER_SUBSCRIBER', 40, 0, 1_000_000),
    coalesceMaxMs: integer(env, 'COALESCE_MAX_MS', 25, 0, 1000),
    gapTimeoutMs: integer(env, 'GAP_TIMEOUT_MS', 500, 10, 60_000),
    dbPoolMax: integer(env, 'DB_POOL_MAX', 10, 1, 1000),
    dbConnectTimeoutMs: integer(env, 'DB_CONNECT_TIMEOUT_MS', 2000, 100, 600_000),
    dbQueryTimeoutMs: integer(env, 'DB_QUERY_TIMEOUT_MS', 5000, 100, 3_600_000),
    redisCommandTimeoutMs: integer(env, 'REDIS_COMMAND_TIMEOUT_MS', 2000, 50, 600_000),
    wsPingIntervalMs: integer(env, 'WS_PING_INTERVAL_MS', 30_000, 100, 3_600_000),
    ...shutdown(env),
    trustProxy: trustProxy(env),
    jwtKeys: jwtKeys(env),
    signingKeysRefreshMs: integer(env, 'SIGNING_KEYS_REFRESH_MS', 60_000, 100, 3_600_000),
    jwtIssuer: env.JWT_ISSUER || 'chat-cluster',
    jwtAudience: env.JWT_AUDIENCE || 'chat-cluster',
    accessTokenTtlSeconds: integer(env, 'ACCESS_TOKEN_TTL_SECONDS', 900, 30, 24 * 3600),
    externalIssuer: externalIssuer(env),
    bootstrapAdmin: bootstrapAdmin(env),
    rateLimits: {
      loginFailuresPerAccount: limit(env, 'RATE_LIMIT_LOGIN_ACCOUNT', '10/900'),
      loginFailuresPerIp: limit(env, 'RATE_LIMIT_LOGIN_IP', '100/900'),
      registrationsPerIp: limit(env, 'RATE_LIMIT_REGISTER_IP', '20/3600'),
      messagesPerUser: limit(env, 'RATE_LIMIT_MESSAGES', '30/10'),
      invitesCreatedPerUser: limit(env, 'RATE_LIMIT_INVITES_CREATE', '20/3600'),
      inviteUsesPerIp: limit(env, 'RATE_LIMIT_INVITES_USE', '60/600'),
    },
    metrics: metricsAccess(env, port),
  }
}
