import type { ChildProcess } from 'node:child_process'
import { type NodeProcess, freePorts, spawnNode } from '../../deploy/spawn-node.js'
import { type Config, loadConfig } from '../../src/config.js'
import { OwnRedisCluster } from '../faults/redis-cluster.js'
import { OwnRedis } from '../faults/redis-server.js'
import type { RedisUnderTest } from '../faults/redis-under-test.js'
import { TcpProxy } from '../faults/tcp-proxy.js'
import { dropDatabase, uniqueName, withDatabase } from '../helpers/isolation.js'
import { testNodeEnv } from '../helpers/node-env.js'
import { services } from '../helpers/services.js'

/**
 * The Redis a chaos cluster's nodes share: a redis-server of its own, which each node reaches through
 * a proxy of its own, or a Redis Cluster of its own (3 masters, 3 replicas), which the nodes reach
 * directly (REDIS_CLUSTER_NODES): its clients learn the servers' addresses from CLUSTER SLOTS, so no
 * proxy can stand in front of it.
 */
export type RedisKind = 'single' | 'cluster'

/** The cluster's Redis, of either kind. */
type OwnRedisOfKind = { kind: 'single'; server: OwnRedis } | { kind: 'cluster'; cluster: OwnRedisCluster }

/**
 * Settings every node on a Redis Cluster gets under the scenario's: as many stream shards as masters,
 * which the shards' hash tags spread over them.
 */
const REDIS_CLUSTER_ENV = { STREAM_SHARDS: '3' }

export interface ClusterOptions {
  /** Node processes: 3 by default. */
  size?: number
  redis?: RedisKind
  /** Settings of every node, over the tests' own. */
  env?: Record<string, string>
}

/**
 * One node of a chaos cluster: its port and its own way to Postgres and, on a single redis-server,
 * to Redis, each a proxy a fault can cut.
 */
export interface ChaosNode {
  readonly index: number
  readonly port: number
  readonly url: string
  readonly postgres: TcpProxy
  /** Undefined on a Redis Cluster, which the node reaches directly. */
  readonly redis: TcpProxy | undefined
  /** The running process, or undefined while the node is down. */
  process: NodeProcess | undefined
  /** Every line the node wrote, across its restarts. */
  readonly lines: string[]
}

/** How long a stopping node may take before it is killed: past its own 10 s shutdown grace. */
const STOP_TIMEOUT_MS = 15_000

// A chaos run that dies (an exception, Ctrl-C, a tap timeout) must not leave node processes behind.
const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

const open = new Set<ChaosCluster>()

/** Closes every cluster not yet closed: for a run that is interrupted. */
export async function closeEveryCluster(): Promise<void> {
  await Promise.allSettled([...open].map((cluster) => cluster.close()))
}

function urlThrough(serverUrl: string, port: number): string {
  const url = new URL(serverUrl)
  url.hostname = '127.0.0.1'
  url.port = String(port)
  return url.toString()
}

/** A node process that ended without being told to. */
export interface Crash {
  node: number
  code: number | null
  signal: string | null
  at: number
}

/**
 * A fresh cluster for one scenario: a Redis of its own (RedisKind), a fresh database on the machine's
 * Postgres, and 3 real node processes, each reaching Postgres (and a single Redis) through proxies of
 * its own, so that a fault can hit one node or all of them. The machine's Postgres and Redis are never
 * touched, only this cluster's database. close() removes all of it, whatever state the scenario left
 * it in.
 */
export class ChaosCluster {
  /** Proxies in front of the nodes for clients on a bad network, made on demand. */
  private readonly clientProxies: TcpProxy[] = []
  /** Nodes that exited when no fault stopped them: each is a failure of the server. */
  readonly crashes: Crash[] = []
  /** Settings a restart gave a node over the cluster's, by node. */
  private readonly nodeEnv = new Map<number, Record<string, string>>()

  private constructor(
    readonly name: string,
    /** The cluster's database, reached directly (not through a proxy): the truth the checker reads. */
    readonly databaseUrl: string,
    private readonly serverUrl: string,
    private readonly own: OwnRedisOfKind,
    readonly nodes: ChaosNode[],
    private readonly env: Record<string, string>,
  ) {}

  static async start(label: string, { size = 3, redis: kind = 'single', env = {} }: ClusterOptions = {}): Promise<ChaosCluster> {
    const { postgresUrl } = await services()
    const name = uniqueName(`chaos_${label}`)
    const postgresTarget = new URL(postgresUrl)
    const own: OwnRedisOfKind = kind === 'single' ? { kind, server: await OwnRedis.start() } : { kind, cluster: await OwnRedisCluster.start() }
    const nodes: ChaosNode[] = []
    const cluster = new ChaosCluster(name, withDatabase(postgresUrl, name), postgresUrl, own, nodes, {
      ...(await testNodeEnv()),
      REDIS_PREFIX: `${name}:`,
      ...(own.kind === 'cluster' && { ...REDIS_CLUSTER_ENV, REDIS_CLUSTER_NODES: own.cluster.nodes }),
      ...env,
    })
    open.add(cluster)
    try {
      const proxies = []
      for (let index = 0; index < size; index++) {
        const postgres = await TcpProxy.start({ host: postgresTarget.hostname, port: Number(postgresTarget.port || 5432) })
        const redis = own.kind === 'single' ? await TcpProxy.start({ host: '127.0.0.1', port: own.server.port }) : undefined
        proxies.push({ postgres, redis })
      }
      // After the proxies listen, so that none of them is handed a node's port.
      const ports = await freePorts(size)
      for (const [index, { postgres, redis }] of proxies.entries()) {
        const port = ports[index] as number
        nodes.push({ index, port, url: `http://127.0.0.1:${port}`, postgres, redis, process: undefined, lines: [] })
      }
      // Together, as replicas of a new deployment start: they race to create and migrate the database.
      const launched = await Promise.allSettled(nodes.map((node) => cluster.launch(node)))
      const failed = launched.find((result) => result.status === 'rejected')
      if (failed) throw failed.reason
      return cluster
    } catch (err) {
      await cluster.close()
      throw err
    }
  }

  get urls(): string[] {
    return this.nodes.map((node) => node.url)
  }

  /** The cluster's Redis, whichever its kind. */
  get redis(): RedisUnderTest {
    return this.own.kind === 'single' ? this.own.server : this.own.cluster
  }

  /** The cluster's redis-server; throws on a Redis Cluster. */
  get redisServer(): OwnRedis {
    if (this.own.kind !== 'single') throw new Error(`chaos cluster ${this.name} runs on a Redis Cluster, not a redis-server`)
    return this.own.server
  }

  /** The cluster's Redis Cluster; throws on a single redis-server. */
  get redisCluster(): OwnRedisCluster {
    if (this.own.kind !== 'cluster') throw new Error(`chaos cluster ${this.name} runs on a single redis-server, not a Redis Cluster`)
    return this.own.cluster
  }

  /** The proxy between a node and a single Redis; throws on a Redis Cluster, which the nodes reach directly. */
  redisProxy(index: number): TcpProxy {
    const proxy = this.node(index).redis
    if (!proxy) throw new Error(`node ${index} of ${this.name} reaches a Redis Cluster directly, through no proxy`)
    return proxy
  }

  /** The nodes' configuration, as the cluster's settings make it (before any restart's own). */
  get config(): Config {
    return loadConfig(this.env)
  }

  /** SIGKILL: the node dies at once, with whatever it had in flight. */
  async kill(index: number): Promise<void> {
    const node = this.node(index)
    const proc = node.process
    node.process = undefined
    if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return
    proc.child.kill('SIGKILL')
    await proc.exited
  }

  /** SIGTERM, as an orchestrator stops a node; resolves with its exit code (null if it had to be killed). */
  async stop(index: number): Promise<number | null> {
    const node = this.node(index)
    const proc = node.process
    node.process = undefined
    if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return proc?.child.exitCode ?? null
    proc.child.kill('SIGTERM')
    const timer = setTimeout(() => proc.child.kill('SIGKILL'), STOP_TIMEOUT_MS)
    try {
      return await proc.exited
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * Starts a node that is down again, on its port and behind its proxies, with `env` over the
   * cluster's settings (as a deploy that changes them would); resolves once it answers.
   */
  async restart(index: number, env: Record<string, string> = {}): Promise<void> {
    const node = this.node(index)
    if (node.process) throw new Error(`node ${index} is running`)
    this.nodeEnv.set(index, { ...this.nodeEnv.get(index), ...env })
    await this.launch(node)
  }

  /** A proxy per node for clients whose network a scenario makes flaky; their URLs, in node order. */
  async clientNetwork(): Promise<{ urls: string[]; proxies: TcpProxy[] }> {
    const proxies = await Promise.all(this.nodes.map((node) => TcpProxy.start({ host: '127.0.0.1', port: node.port })))
    this.clientProxies.push(...proxies)
    return { urls: proxies.map((proxy) => `http://127.0.0.1:${proxy.port}`), proxies }
  }

  /** Stops every node (SIGTERM, then SIGKILL past the grace), the proxies and Redis, and drops the database. */
  async close(): Promise<void> {
    if (!open.delete(this)) return
    const failures: unknown[] = []
    const attempt = async (step: () => Promise<unknown>) => {
      try {
        await step()
      } catch (err) {
        failures.push(err)
      }
    }
    // Proxies open first, so that draining nodes can finish talking to Postgres and Redis.
    for (const node of this.nodes) {
      node.postgres.set('open')
      node.redis?.set('open')
    }
    await attempt(() => this.redis.refuseWrites(false))
    await Promise.all(this.nodes.map((node) => attempt(() => this.stop(node.index))))
    const nodeProxies = this.nodes.flatMap((node) => (node.redis ? [node.postgres, node.redis] : [node.postgres]))
    for (const proxy of [...this.clientProxies, ...nodeProxies]) await attempt(() => proxy.close())
    await attempt(() => this.redis.stop())
    await attempt(() => dropDatabase(this.serverUrl, this.name))
    if (failures.length > 0) throw new AggregateError(failures, `cleaning up chaos cluster ${this.name} failed`)
  }

  private node(index: number): ChaosNode {
    const node = this.nodes[index]
    if (!node) throw new Error(`no node ${index}`)
    return node
  }

  private async launch(node: ChaosNode): Promise<void> {
    const env = {
      ...this.env,
      ...this.nodeEnv.get(node.index),
      DATABASE_URL: urlThrough(this.databaseUrl, node.postgres.port),
      ...(node.redis && { REDIS_URL: `redis://127.0.0.1:${node.redis.port}` }),
      NODE_ID: `${this.name}-${node.index}`,
    }
    const proc = await spawnNode(node.port, env, (line) => node.lines.push(line))
    running.add(proc.child)
    proc.child.once('exit', (code, signal) => {
      running.delete(proc.child)
      // kill() and stop() forget the process before they end it.
      if (node.process !== proc) return
      node.process = undefined
      this.crashes.push({ node: node.index, code, signal, at: Date.now() })
    })
    node.process = proc
  }
}
