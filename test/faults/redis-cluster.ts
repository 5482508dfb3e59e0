import { type ChildProcess, execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Redis } from 'ioredis'
import { freePorts } from '../../deploy/spawn-node.js'
import { killAndWait, launchRedisServer, onRedis, refuseWritesOn } from './redis-server.js'
import type { RedisUnderTest } from './redis-under-test.js'

const run = promisify(execFile)

/** How long a node goes unanswered before the others count it as failed and its replica takes over. */
const NODE_TIMEOUT_MS = 1500
/** Bound on every wait for the cluster: generous, for a busy machine. */
const WAIT_MS = 60_000

/** One redis-server of the cluster as the cluster sees it now (a failover turns a replica into a master). */
export interface ClusterMember {
  port: number
  pid: number
  role: 'master' | 'replica'
  /** A replica's master's port. */
  masterPort?: number
}

/** One line of CLUSTER NODES. */
interface NodeLine {
  id: string
  port: number
  flags: string[]
  masterId: string
}

function parseNodes(text: string): NodeLine[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id = '', address = '', flags = '', masterId = ''] = line.split(' ')
      return { id, port: Number(/:(\d+)@/.exec(address)?.[1]), flags: flags.split(','), masterId }
    })
}

/** The value of one field of CLUSTER INFO or INFO. */
const field = (info: string, name: string) => new RegExp(`^${name}:(.*?)\\r?$`, 'm').exec(info)?.[1]

async function until<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + WAIT_MS
  for (;;) {
    const found = await probe().catch(() => undefined)
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error(`the Redis Cluster: timed out after ${WAIT_MS} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/**
 * A Redis Cluster of a test's own: 3 masters and 3 replicas, each a redis-server on spare loopback
 * ports (its client port and its cluster bus port), its node table in a temporary directory that
 * `stop()` removes, nothing else on disk. Never the machine's shared Redis.
 */
export class OwnRedisCluster implements RedisUnderTest {
  /** The running servers by client port. */
  private readonly servers = new Map<number, ChildProcess>()

  private constructor(
    private readonly dir: string,
    /** Each server's client port and cluster bus port, kept across kill() and startAgain(). */
    private readonly ports: readonly [port: number, busPort: number][],
  ) {}

  /** Starts the servers, joins them (redis-cli --cluster create) and resolves once every slot is served and every replica in sync. */
  static async start(): Promise<OwnRedisCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'redis-cluster-'))
    const free = await freePorts(12)
    const ports = Array.from({ length: 6 }, (_, i): [number, number] => [free[2 * i] as number, free[2 * i + 1] as number])
    const cluster = new OwnRedisCluster(dir, ports)
    try {
      await cluster.create()
      return cluster
    } catch (err) {
      await cluster.stop()
      throw err
    }
  }

  /** For REDIS_CLUSTER_NODES: every server, host:port, comma-separated. */
  get nodes(): string {
    return this.ports.map(([port]) => `127.0.0.1:${port}`).join(',')
  }

  /** The servers still running, with their roles now. */
  async members(): Promise<ClusterMember[]> {
    const lines = parseNodes(await this.ask((redis) => redis.cluster('NODES') as Promise<string>))
    const byId = new Map(lines.map((line) => [line.id, line]))
    return lines.flatMap(({ port, flags, masterId }): ClusterMember[] => {
      const pid = this.running(port)?.pid
      if (pid === undefined || flags.includes('fail')) return []
      return flags.includes('master') ? [{ port, pid, role: 'master' }] : [{ port, pid, role: 'replica', masterPort: byId.get(masterId)?.port }]
    })
  }

  async masters(): Promise<ClusterMember[]> {
    return (await this.members()).filter((member) => member.role === 'master')
  }

  async replicas(): Promise<ClusterMember[]> {
    return (await this.members()).filter((member) => member.role === 'replica')
  }

  /** The port of the master that serves `key` now. */
  async masterOf(key: string): Promise<number> {
    const slot = await this.ask((redis) => redis.cluster('KEYSLOT', key))
    const shards = await this.ask((redis) => redis.cluster('SLOTS'))
    const master = shards.find(([first, last]) => first <= slot && slot <= last)?.[2]
    if (!master) throw new Error(`no master serves slot ${slot}`)
    return master[1]
  }

  /**
   * Kills a master (SIGKILL), and resolves once one of its replicas has taken over and every server
   * left says the cluster is ok, with how long that took from the kill.
   */
  async killMaster(port: number): Promise<{ promoted: number; failoverMs: number }> {
    const replicas = (await this.replicas()).filter((member) => member.masterPort === port).map((member) => member.port)
    const child = this.running(port)
    if (!child || replicas.length === 0) throw new Error(`127.0.0.1:${port} is not a running master with a replica`)
    const killedAt = performance.now()
    await killAndWait(child)
    const promoted = await until(async () => {
      const masters = new Set((await this.masters()).map((member) => member.port))
      const promoted = replicas.find((replica) => masters.has(replica))
      return promoted !== undefined && (await this.settled()) ? promoted : undefined
    }, `a replica of 127.0.0.1:${port} to take over`)
    return { promoted, failoverMs: Math.round(performance.now() - killedAt) }
  }

  /** Kills every server (SIGKILL: they lose their data); startAgain() makes a new cluster of them. */
  async kill(): Promise<void> {
    const servers = [...this.servers.values()]
    this.servers.clear()
    await Promise.all(servers.map(killAndWait))
  }

  /** After kill(): a new, empty cluster on the same ports, created as start() creates it. */
  async startAgain(): Promise<void> {
    if (this.ports.some(([port]) => this.running(port))) throw new Error(`the Redis Cluster on ${this.nodes} is running`)
    await this.create()
  }

  /** Makes every master refuse writes (see refuseWritesOn), or accept them again. */
  async refuseWrites(on: boolean): Promise<void> {
    await Promise.all((await this.masters()).map(({ port }) => refuseWritesOn(port, on)))
  }

  /** Kills every server and removes its directory. */
  async stop(): Promise<void> {
    await this.kill()
    await rm(this.dir, { recursive: true, force: true })
  }

  /**
   * Starts every server with an empty node table, joins them as 3 masters with a replica each and
   * resolves once the cluster has settled.
   */
  private async create(): Promise<void> {
    await Promise.all(
      this.ports.map(async ([port, busPort]) => {
        const nodeTable = join(this.dir, `nodes-${port}.conf`)
        await rm(nodeTable, { force: true })
        const args = ['--cluster-enabled', 'yes', '--cluster-port', String(busPort), '--cluster-config-file', nodeTable]
        args.push('--cluster-node-timeout', String(NODE_TIMEOUT_MS), '--dir', this.dir, '--logfile', join(this.dir, `redis-${port}.log`))
        this.servers.set(port, await launchRedisServer(port, args))
      }),
    )
    const addresses = this.ports.map(([port]) => `127.0.0.1:${port}`)
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '1', '--cluster-yes'], { timeout: WAIT_MS })
    await until(() => this.settled(), 'every slot served and every replica in sync')
  }

  /**
   * True when every running server says the cluster is ok with all 16384 slots served, knows the same
   * masters, and every replica is in sync with its master.
   */
  private async settled(): Promise<true | undefined> {
    const ports = [...this.servers.keys()].filter((port) => this.running(port))
    const views = await Promise.all(
      ports.map((port) =>
        onRedis(port, async (redis) => ({
          cluster: await redis.cluster('INFO'),
          replication: await redis.info('replication'),
          nodes: (await redis.cluster('NODES')) as string,
        })),
      ),
    )
    const mastersSeen = new Set(views.map(({ nodes }) => parseNodes(nodes).filter((line) => line.flags.includes('master') && !line.flags.includes('fail')).map((line) => line.port).sort().join(',')))
    const ok = views.every(
      ({ cluster, replication }) =>
        field(cluster, 'cluster_state') === 'ok' &&
        field(cluster, 'cluster_slots_ok') === '16384' &&
        (field(replication, 'role') === 'master' || (field(replication, 'master_link_status') === 'up' && field(replication, 'master_sync_in_progress') === '0')),
    )
    return ok && mastersSeen.size === 1 ? true : undefined
  }

  private running(port: number): ChildProcess | undefined {
    const child = this.servers.get(port)
    return child && child.exitCode === null && child.signalCode === null ? child : undefined
  }

  /** Asks the first running server. */
  private ask<T>(question: (redis: Redis) => Promise<T>): Promise<T> {
    const port = [...this.servers.keys()].find((p) => this.running(p))
    if (port === undefined) throw new Error('no server of the cluster is running')
    return onRedis(port, question)
  }
}
