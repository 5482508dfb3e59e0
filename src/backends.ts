import net from 'node:net'
import { type RateLimits, createMemoryRateLimits, createRateLimits } from './auth/rate-limits.js'
import type { Bus } from './bus/bus.js'
import { MemoryBus } from './bus/memory-bus.js'
import { RedisPubSubBus } from './bus/redis-pubsub.js'
import { RedisStreamBus } from './bus/redis-stream.js'
import type { Config } from './config.js'
import { type Logger, logRedisErrors } from './logger.js'
import { MemoryPresenceStore } from './presence/memory-store.js'
import { RedisPresenceStore } from './presence/redis-store.js'
import type { PresenceStore } from './presence/store.js'
import { type RedisClient, createRedisClient, redisAnswers } from './redis.js'
import { startEmbeddedPostgres } from './storage/embedded.js'

/** The state a node shares with the other nodes of its cluster, or keeps to itself when it runs alone. */
export interface Shared {
  bus: Bus
  presence: PresenceStore
  limits: RateLimits
  /** What /readyz checks besides Postgres, by name: each call resolves when its service answers. */
  checks: Record<string, () => Promise<unknown>>
}

/**
 * Where a node keeps its state, chosen once, at start (chooseBackends): the cluster's Postgres and
 * Redis, or, for a node that runs alone, an embedded Postgres and the in-memory bus, presence and
 * rate limits. app.ts wires whichever it is given the same way.
 */
export interface Backends {
  /** Postgres: the cluster's, or the one this node runs. */
  databaseUrl: string
  /** Says, in the node's first log lines, what it runs on. */
  announce(log: Logger): void
  /** The bus, presence and rate limits, made with the node's logger. */
  share(log: Logger): Promise<Shared>
  /** Releases what the two above made or started, once the node has closed its bus and its pool. */
  stop(): Promise<void>
}

/**
 * A cluster's services when DATABASE_URL, REDIS_URL or REDIS_CLUSTER_NODES is set, or when Postgres
 * or Redis answers at its loopback default; otherwise this node alone, on embedded storage.
 */
export async function chooseBackends(config: Config): Promise<Backends> {
  if (!config.servicesUnset) return clusterBackends(config)
  const answering = await Promise.all([config.databaseUrl, config.redisUrl].map(answers))
  return answering.includes(true) ? clusterBackends(config) : embeddedBackends(config)
}

/** host:port of a URL: where a service is, without its credentials. */
const whereIs = (url: string) => new URL(url).host

/** Where Redis is: the server, or the Cluster's nodes the node starts from. */
const whereRedisIs = ({ redisUrl, redisClusterNodes }: Config) =>
  redisClusterNodes === undefined ? whereIs(redisUrl) : { cluster: redisClusterNodes.map(({ host, port }) => `${host}:${port}`).join(',') }

export function clusterBackends(config: Config): Backends {
  let redis: RedisClient | undefined
  return {
    databaseUrl: config.databaseUrl,
    announce(log) {
      log.info(
        { mode: 'cluster', postgres: whereIs(config.databaseUrl), redis: whereRedisIs(config) },
        'a cluster node: its state is in Postgres and Redis, shared with every node configured alike',
      )
    },
    async share(log) {
      const connection = createRedisClient({
        url: config.redisUrl,
        clusterNodes: config.redisClusterNodes,
        commandTimeoutMs: config.redisCommandTimeoutMs,
      })
      redis = connection
      logRedisErrors(connection, log, 'main')
      await connection.connect()
      return {
        bus: clusterBus(connection, config, log),
        presence: new RedisPresenceStore(connection, config.redisPrefix),
        limits: createRateLimits(connection, config.redisPrefix, config.rateLimits),
        checks: { redis: () => redisAnswers(connection) },
      }
    },
    async stop() {
      // With Redis down, QUIT fails after the command timeout: then the connection is just dropped.
      await redis?.quit().catch(() => redis?.disconnect())
    },
  }
}

/** The bus BUS_ROUTING names: the streams, every node reading every shard, or sharded Pub/Sub with the streams beside it. */
function clusterBus(connection: RedisClient, config: Config, log: Logger): Bus {
  const key = `${config.redisPrefix}events`
  const stream = new RedisStreamBus(connection, {
    key,
    maxLen: config.streamMaxLen,
    shards: config.streamShards,
    shardsRefreshMs: config.streamShardsRefreshMs,
    lingerMs: config.streamReadLingerMs,
    log,
  })
  return config.busRouting === 'pubsub' ? new RedisPubSubBus(connection, stream, { key, log }) : stream
}

async function embeddedBackends(config: Config): Promise<Backends> {
  const postgres = await startEmbeddedPostgres(config.dataDir)
  let stopping = false
  return {
    databaseUrl: postgres.databaseUrl,
    announce(log) {
      log.info(
        { mode: 'single node', dataDir: postgres.dataDir, postgresLog: postgres.logFile },
        `a single node with embedded storage: no DATABASE_URL or REDIS_URL is set and nothing answers at their defaults, so this node runs Postgres itself, with its data in ${postgres.dataDir}, and keeps its bus, presence and rate limits in memory`,
      )
      log.info({}, 'to run a cluster instead, set DATABASE_URL and REDIS_URL on every node (README, "Running a cluster")')
      void postgres.exited.then((code) => {
        if (!stopping) log.error({ code, postgresLog: postgres.logFile }, 'the embedded Postgres stopped; requests that need it answer 503 until the node is restarted')
      })
    },
    async share() {
      return { bus: new MemoryBus(), presence: new MemoryPresenceStore(), limits: createMemoryRateLimits(config.rateLimits), checks: {} }
    },
    async stop() {
      stopping = true
      await postgres.stop()
    },
  }
}

/** Whether something accepts TCP connections where a URL that names its port points (within a second). */
export function answers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url)
  return new Promise((done) => {
    const socket = net.connect({ host: hostname, port: Number(port) })
    const answer = (yes: boolean) => {
      socket.destroy()
      done(yes)
    }
    socket.setTimeout(1000, () => answer(false))
    socket.once('connect', () => answer(true))
    socket.once('error', () => answer(false))
  })
}
