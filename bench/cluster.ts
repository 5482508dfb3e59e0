import { type NodeProcess, freePort, spawnNode, stopNodes } from '../deploy/spawn-node.js'
import { generateSigningJwk } from '../src/auth/signing-keys.js'
import { dropIsolated, withDatabase } from '../test/helpers/isolation.js'

/** The cluster under test: its node URLs, and the pids of its nodes when the bench started them. */
export interface BenchTarget {
  urls: string[]
  /** Updated in place by restart(). */
  nodePids: number[]
  /** The nodes' database, when the bench made it. */
  databaseUrl?: string
  /** Restarts every node on its port, for a measurement that needs fresh processes; absent for external nodes. */
  restart?(): Promise<void>
  stop(): Promise<void>
}

/** Nodes someone else runs; the bench only connects to them. */
export function externalTarget(urls: string[]): BenchTarget {
  return { urls, nodePids: [], stop: async () => {} }
}

/**
 * Starts `size` real node processes on loopback against the local Postgres and Redis (or DATABASE_URL
 * and REDIS_URL), with a fresh database and Redis prefix that are dropped again at stop(). `nodeEnv`
 * adds to (or overrides) the settings of node i.
 */
export async function startBenchCluster(size: number, nodeEnv: (i: number) => Record<string, string> = () => ({})): Promise<BenchTarget> {
  const name = `chat_bench_${Date.now().toString(36)}`
  const server = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres'
  const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379'
  const env = {
    DATABASE_URL: withDatabase(server, name),
    REDIS_URL: redisUrl,
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
  const start = async (i: number, port: number) => {
    nodes[i] = await spawnNode(port, { ...env, NODE_ID: `bench${i + 1}`, ...nodeEnv(i) }, (line) => console.error(`[node${i + 1}] ${line}`), { nodeArgs })
    nodePids[i] = nodes[i].child.pid as number
  }
  const stop = async () => {
    await stopNodes(nodes)
    await dropIsolated(withDatabase(server, 'postgres'), name, redisUrl)
  }
  const restart = async () => {
    await stopNodes(nodes)
    for (const [i, node] of nodes.entries()) await start(i, node.port)
  }
  try {
    for (let i = 0; i < size; i++) await start(i, await freePort())
  } catch (err) {
    await stop()
    throw err
  }
  return { urls: nodes.map((n) => n.url), nodePids, databaseUrl: env.DATABASE_URL, restart, stop }
}
