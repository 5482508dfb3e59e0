import { type Launch, type NodeProcess, freePorts, spawnNode, stopNodes } from '../deploy/spawn-node.js'
import { generateSigningJwk } from '../src/auth/signing-keys.js'
import { dropDatabase, dropIsolated, withDatabase } from '../test/helpers/isolation.js'
import { times } from './fixtures.js'

/** The cluster under test: its node URLs, and the pids of its nodes when the bench started them. */
export interface BenchTarget {
  urls: string[]
  /** Updated in place by restart(). */
  nodePids: number[]
  /** The nodes' database, when the bench made it. */
  databaseUrl?: string
  /**
   * Restarts every node on its port, for a measurement that needs fresh processes, from the sources
   * or compiled (as `npm start` runs them: build first); absent for external nodes.
   */
  restart?(from: Launch): Promise<void>
  stop(): Promise<void>
}

/** Nodes someone else runs; the bench only connects to them. */
export function externalTarget(urls: string[]): BenchTarget {
  return { urls, nodePids: [], stop: async () => {} }
}

export interface BenchClusterOptions {
  /** Settings added to (or overriding) those of node i. */
  nodeEnv?: (i: number) => Record<string, string>
  /**
   * The Redis of the nodes as their settings (REDIS_URL, or REDIS_CLUSTER_NODES), when the caller
   * started one of its own that it throws away after: then stop() drops only the database. Without
   * it, the nodes use REDIS_URL or the local Redis, under a key prefix that stop() drops.
   */
  redisEnv?: Record<string, string>
  /** How many nodes start at once after the first, which starts (and migrates the database) alone. */
  startConcurrency?: number
}

const READY_TIMEOUT_MS = 60_000

/** Resolves once the node's /readyz answers 200 (Postgres and Redis answer), as a balancer would wait. */
async function waitUntilReady(url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    const ready = await fetch(`${url}/readyz`).then(
      (res) => res.ok,
      () => false,
    )
    if (ready) return
    if (Date.now() > deadline) throw new Error(`${url} was not ready within ${READY_TIMEOUT_MS / 1000} s`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/**
 * Starts `size` real node processes on loopback against the local Postgres (or DATABASE_URL) and the
 * given Redis (see `redisEnv`), with a fresh database that is dropped again at stop(), and resolves
 * once every node is ready.
 */
export async function startBenchCluster(size: number, { nodeEnv = () => ({}), redisEnv, startConcurrency = 1 }: BenchClusterOptions = {}): Promise<BenchTarget> {
  const name = `chat_bench_${Date.now().toString(36)}`
  const server = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres'
  const sharedRedisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379'
  const env = {
    DATABASE_URL: withDatabase(server, name),
    ...(redisEnv ?? { REDIS_URL: sharedRedisUrl }),
    REDIS_PREFIX: `${name}:`,
    LOG_LEVEL: 'warn',
    JWT_KEYS: JSON.stringify([await generateSigningJwk()]),
    // The load comes from a few loopback clients, each far faster than a person: the limits would be all it measured.
    RATE_LIMIT_LOGIN_ACCOUNT: 'off',
    RATE_LIMIT_LOGIN_IP: 'off',
    RATE_LIMIT_REGISTER_IP: 'off',
    RATE_LIMIT_MESSAGES: 'off',
    // No balancer watches these nodes: a restart (W3) need not wait for one to notice.
    SHUTDOWN_DRAIN_MS: '0',
    SHUTDOWN_CLOSE_WINDOW_MS: '0',
  }
  // For profiling the nodes, e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=bench/results"
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []
  const nodes: NodeProcess[] = []
  const nodePids: number[] = []
  const start = async (i: number, port: number, from: Launch = 'source') => {
    const onLine = (line: string) => console.error(`[node${i + 1}] ${line}`)
    nodes[i] = await spawnNode(port, { ...env, NODE_ID: `bench${i + 1}`, ...nodeEnv(i) }, onLine, { nodeArgs, from })
    nodePids[i] = nodes[i].child.pid as number
    await waitUntilReady(nodes[i].url)
  }
  const stop = async () => {
    await stopNodes(nodes.filter(Boolean))
    const admin = withDatabase(server, 'postgres')
    await (redisEnv ? dropDatabase(admin, name) : dropIsolated(admin, name, sharedRedisUrl))
  }
  const restart = async (from: Launch) => {
    await stopNodes(nodes)
    for (const [i, node] of nodes.entries()) await start(i, node.port, from)
  }
  try {
    const ports = await freePorts(size)
    await start(0, ports[0] as number)
    // Every start settles before a failure is thrown, so that stop() finds each node that was started.
    const failures: unknown[] = []
    await times(size - 1, startConcurrency, (i) => start(i + 1, ports[i + 1] as number).catch((err: unknown) => void failures.push(err)))
    if (failures.length > 0) throw failures[0]
  } catch (err) {
    await stop()
    throw err
  }
  return { urls: nodes.map((n) => n.url), nodePids, databaseUrl: env.DATABASE_URL, restart, stop }
}
