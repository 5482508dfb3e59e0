import { Redis } from 'ioredis'
import pg from 'pg'
import { liveChannel } from '../../src/bus/redis-pubsub.js'
import { shardKeys, shardOf } from '../../src/bus/shards.js'
import { type ChaosClient, pause } from './client.js'
import type { ChaosCluster, RedisKind } from './cluster.js'
import type { Workload, WorkloadShape } from './workload.js'

export type Length = 'short' | 'long'

export interface Timing {
  /** Load before the fault. */
  warmupMs: number
  /** How long a fault that lasts (an outage, a stall, a flaky network) lasts. */
  faultMs: number
  /** Load after the fault ends. */
  tailMs: number
  /** Messages each of the slow-consumer scenario's 4 burst writers posts. */
  burstMessages: number
  /** How often the flaky network drops every connection. */
  flakyEveryMs: number
}

export const TIMINGS: Record<Length, Timing> = {
  short: { warmupMs: 1_000, faultMs: 3_000, tailMs: 1_000, burstMessages: 150, flakyEveryMs: 1_000 },
  long: { warmupMs: 5_000, faultMs: 8_000, tailMs: 5_000, burstMessages: 500, flakyEveryMs: 2_000 },
}

export interface ScenarioContext {
  cluster: ChaosCluster
  workload: Workload
  timing: Timing
  /** Records a figure about the fault itself, for the report. */
  note(key: string, value: unknown): void
}

export interface Scenario {
  name: string
  title: string
  /** What the fault does, for the report. */
  fault: string
  /**
   * The documented bound on the time to converge after the fault ends, on a quiet machine
   * (docs/reliability.md).
   */
  boundMs: number
  shape?: Partial<WorkloadShape>
  /** Settings of the cluster's nodes, over the tests' own. */
  env?: Record<string, string>
  /**
   * The Redis it runs on (RedisKind): a single redis-server by default. Faults that need a node's
   * own proxy to Redis are single-only; a Redis Cluster's failover is cluster-only.
   */
  redis?: RedisKind | 'both'
  /** Prepares the fault before the load starts (clients of its own, proxies) and returns it. */
  arm(context: ScenarioContext): Promise<() => Promise<void>>
}

/** Whether the scenario runs on this kind of Redis. */
export const runsOn = (scenario: Scenario, kind: RedisKind): boolean => (scenario.redis ?? 'single') === kind || scenario.redis === 'both'

/** The base key of the cluster's bus: its stream's shard 0, and the prefix of its shards and channels (as backends.ts names it). */
const busKey = (cluster: ChaosCluster) => `${cluster.config.redisPrefix}events`

/** The key whose slot's master carries a conversation's live events: its stream shard, or its channel under BUS_ROUTING=pubsub. */
function liveKey(cluster: ChaosCluster, conversationId: number): string {
  const { busRouting, streamShards } = cluster.config
  return busRouting === 'pubsub' ? liveChannel(busKey(cluster), conversationId) : shardKeys(busKey(cluster))(shardOf(conversationId, streamShards))
}

/** Waits for a condition, polling; throws naming it if it does not hold in time. */
export async function until(probe: () => boolean | Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await pause(25)
  }
}

/** Waits until Postgres holds the message a client posted with this id. */
async function committed(databaseUrl: string, conversationId: number, clientId: string, timeoutMs: number): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const stored = async () =>
      (await client.query('SELECT 1 FROM messages WHERE conversation_id = $1 AND client_msg_id = $2', [conversationId, clientId])).rowCount === 1
    await until(stored, `message ${clientId} to be committed`, timeoutMs)
  } finally {
    await client.end()
  }
}

/** The node every scenario that hits one node hits. */
const VICTIM = 0
/** How long any single step of a fault may wait for a condition before the scenario fails. */
const STEP_TIMEOUT_MS = 30_000

/** How often the resharding scenarios' nodes announce their shard counts: a count is gone 3 of these after its last node. */
const SHARDS_REFRESH_MS = 300

/**
 * A rolling deploy that changes STREAM_SHARDS from `from` to `to`: each node in turn gets SIGTERM and
 * starts again with the new count, the next once it answers. Then, under load, until the old count
 * is gone: the nodes write to the shards past the old count (raising), or the shards past the new
 * count stop growing (lowering).
 */
function reshard(from: number, to: number): Scenario {
  return {
    name: `reshard-${from}-to-${to}`,
    title: `a rolling deploy that changes STREAM_SHARDS from ${from} to ${to}`,
    fault: `each node in turn gets SIGTERM and starts again with STREAM_SHARDS=${to}; then the load goes on until the nodes write with ${to} shards`,
    boundMs: 3_000,
    env: { STREAM_SHARDS: String(from), STREAM_SHARDS_REFRESH_MS: String(SHARDS_REFRESH_MS) },
    async arm({ cluster, note }) {
      const redis = new Redis(cluster.redisServer.url)
      const key = shardKeys(busKey(cluster))
      const entries = () => Promise.all(Array.from({ length: Math.max(from, to) }, (_, shard) => redis.xlen(key(shard))))
      return async () => {
        try {
          for (const node of cluster.nodes) {
            await cluster.stop(node.index)
            await cluster.restart(node.index, { STREAM_SHARDS: String(to) })
          }
          const rolled = await entries()
          const written = async (shard: number) => ((await entries())[shard] ?? 0) > (rolled[shard] ?? 0)
          const pastOld = Array.from({ length: to - from }, (_, i) => from + i)
          if (to > from) await until(async () => (await Promise.all(pastOld.map(written))).includes(true), `writes past shard ${from - 1}`, STEP_TIMEOUT_MS)
          else {
            // Once the old count is gone, a few refreshes of writes leave the shards past the new count as they were.
            await pause(6 * SHARDS_REFRESH_MS)
            const gone = await entries()
            await until(() => written(0), 'writes to shard 0', STEP_TIMEOUT_MS)
            const after = await entries()
            if (after.slice(to).some((n, shard) => n !== gone[to + shard])) throw new Error(`shards past ${to} still written to: ${gone} then ${after}`)
          }
          note('entriesByShard', await entries())
        } finally {
          redis.disconnect()
        }
      }
    },
  }
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'sigkill',
    title: 'SIGKILL a node under load',
    fault: 'node 0 is killed with SIGKILL and stays down; its clients reconnect to the others',
    boundMs: 3_000,
    redis: 'both',
    async arm({ cluster }) {
      return () => cluster.kill(VICTIM)
    },
  },
  {
    name: 'rolling-restart',
    title: 'a rolling restart',
    fault: 'each node in turn gets SIGTERM, exits, and starts again; the next one goes once it answers',
    boundMs: 3_000,
    redis: 'both',
    async arm({ cluster, note }) {
      return async () => {
        const exitCodes: (number | null)[] = []
        for (const node of cluster.nodes) {
          exitCodes.push(await cluster.stop(node.index))
          await cluster.restart(node.index)
        }
        note('exitCodes', exitCodes)
      }
    },
  },
  reshard(1, 4),
  reshard(4, 2),
  {
    name: 'redis-restarted-empty',
    title: 'Redis restarted empty',
    fault: 'Redis (every server of a Redis Cluster) is killed, stays down for the fault time, and starts again with nothing in it',
    // A node retries reading the stream with a backoff that reaches 5 s, and ioredis reconnects
    // with one that reaches 2 s.
    boundMs: 7_000,
    redis: 'both',
    async arm({ cluster, timing }) {
      return async () => {
        await cluster.redis.kill()
        await pause(timing.faultMs)
        await cluster.redis.startAgain()
      }
    },
  },
  {
    name: 'redis-master-failover',
    title: "a Redis Cluster master's failover under load",
    fault:
      "the master that carries busy conversation 1's live events (its stream shard, or its Pub/Sub channel under BUS_ROUTING=pubsub) is killed with SIGKILL and stays down; the fault ends once its replica has taken over and every server says the cluster is ok",
    // The fault ends once the cluster is ok again. A node's stream reader on the dead master may
    // still be waiting out its retry's backoff (3.2 s after 3 s of failures) and its client still
    // learning the new slot map, but the log heads (HEADS_INTERVAL_MS, 1 s) bring every
    // conversation's newest events from Postgres meanwhile, and gap fills the ones before them.
    boundMs: 3_000,
    redis: 'cluster',
    async arm({ cluster, workload, note }) {
      const redis = cluster.redisCluster
      const key = liveKey(cluster, workload.busy[0] as number)
      return async () => {
        const master = await redis.masterOf(key)
        const carriesShard0 = (await redis.masterOf(busKey(cluster))) === master
        const { promoted, failoverMs } = await redis.killMaster(master)
        note('failover', { key, master, carriesShard0, promoted, failoverMs })
      }
    },
  },
  {
    name: 'postgres-cut',
    title: 'Postgres cut for several seconds',
    fault:
      "for half the fault time every node's packets to Postgres are dropped (nothing closes, as in a network partition), for the other half its connections are reset and new ones refused (as while Postgres restarts); then Postgres is back",
    boundMs: 5_000,
    async arm({ cluster, timing }) {
      return async () => {
        for (const node of cluster.nodes) node.postgres.set('blackhole')
        await pause(timing.faultMs / 2)
        for (const node of cluster.nodes) node.postgres.set('down')
        await pause(timing.faultMs / 2)
        for (const node of cluster.nodes) node.postgres.set('open')
      }
    },
  },
  {
    name: 'writer-killed-before-xadd',
    title: 'a stream entry lost: the writer killed between COMMIT and XADD',
    fault:
      "node 0's Redis is blackholed; a message is posted through it to the quiet conversation (and the busy writers on node 0 post too); once Postgres holds it, node 0 is killed and its held XADD dropped",
    boundMs: 3_000,
    shape: { quietConversation: true },
    async arm({ cluster, workload, note }) {
      const quiet = workload.quiet as number
      const writer = await workload.add({ role: 'quiet', reads: [], home: VICTIM, write: workload.load(quiet, 'rest', { count: 1 }), writesOnCue: true })
      return async () => {
        const proxy = cluster.redisProxy(VICTIM)
        proxy.set('blackhole')
        writer.startWriting()
        await committed(cluster.databaseUrl, quiet, `${writer.name}-1`, STEP_TIMEOUT_MS)
        await cluster.kill(VICTIM)
        // A dead peer's bytes are lost, not delivered late: drop what the proxy held.
        proxy.set('down')
        proxy.set('open')
        await writer.written()
        note('quietMessage', writer.acks[0] ?? 'not acknowledged')
      }
    },
  },
  {
    name: 'redis-refuses-writes',
    title: 'a stream entry lost: Redis refusing writes for a moment',
    fault: 'Redis (every master of a Redis Cluster) refuses every write (OOM) for the fault time; a message is posted to the quiet conversation meanwhile',
    boundMs: 3_000,
    redis: 'both',
    shape: { quietConversation: true },
    async arm({ cluster, workload, timing, note }) {
      const quiet = workload.quiet as number
      const writer = await workload.add({ role: 'quiet', reads: [], home: 1, write: workload.load(quiet, 'ws', { count: 1 }), writesOnCue: true })
      return async () => {
        await cluster.redis.refuseWrites(true)
        const refusedAt = Date.now()
        writer.startWriting()
        await writer.written()
        note('quietMessage', writer.acks[0] ?? 'not acknowledged')
        await pause(timing.faultMs - (Date.now() - refusedAt))
        await cluster.redis.refuseWrites(false)
      }
    },
  },
  {
    name: 'slow-consumer',
    title: 'a slow consumer that stops reading while others post at high rate, then resumes',
    fault:
      "a reader on node 0 stops reading its socket while 4 writers post 4,000-character messages (12 kB each in UTF-8) to busy 1 as fast as they are acknowledged; it reads again once they are done",
    boundMs: 5_000,
    async arm({ workload, timing, note }) {
      const target = workload.busy[0] as number
      const slow = workload.readers.find((reader) => reader.options.home === VICTIM) as ChaosClient
      const burst = await Promise.all(
        [0, 1, 2, 3].map((i) =>
          workload.add({
            role: 'burst',
            reads: [],
            home: i % 3,
            writesOnCue: true,
            write: workload.load(target, i % 2 === 0 ? 'ws' : 'rest', { intervalMs: 0, textChars: 4_000, wide: true, count: timing.burstMessages }),
          }),
        ),
      )
      return async () => {
        slow.pauseReading()
        const startedAt = Date.now()
        for (const writer of burst) writer.startWriting()
        await Promise.all(burst.map((writer) => writer.written()))
        note('burst', { messages: burst.reduce((n, writer) => n + writer.acks.length, 0), ms: Date.now() - startedAt })
        slow.resumeReading()
        note('slowReader', slow.name)
      }
    },
  },
  {
    name: 'flaky-network',
    title: 'a client on a flaky network whose connection drops every few seconds',
    fault:
      "2 clients (each reading everything and writing, one over a socket, one over REST) reach the nodes through proxies that reset all their connections every second (short run) or 2 s (long run) for the fault time",
    boundMs: 3_000,
    async arm({ cluster, workload, timing, note }) {
      const network = await cluster.clientNetwork()
      const [first, second] = workload.busy as [number, number]
      await workload.add({ role: 'flaky', reads: workload.conversations, home: 0, nodes: network.urls, write: workload.load(first, 'ws') })
      await workload.add({ role: 'flaky', reads: workload.conversations, home: 1, nodes: network.urls, write: workload.load(second, 'rest') })
      return async () => {
        const resets = Math.floor(timing.faultMs / timing.flakyEveryMs)
        for (let i = 0; i < resets; i++) {
          await pause(timing.flakyEveryMs)
          for (const proxy of network.proxies) proxy.resetConnections()
        }
        note('resets', { count: resets, everyMs: timing.flakyEveryMs })
      }
    },
  },
]
