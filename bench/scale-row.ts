import { randomBytes } from 'node:crypto'
import { setTimeout } from 'node:timers/promises'
import { REDIS_KINDS, type RedisKind } from './bench-redis.js'
import { type BusCounters, busDelta, scrapeBusCounters } from './bus-counters.js'
import { BUS_DESIGNS, type BusDesign } from './bus-designs.js'
import { startBenchCluster } from './cluster.js'
import { createConversations, registerUsers } from './fixtures.js'
import type { LoadProcesses } from './load-processes.js'
import { type Sampled, pidsNamed, sampleUsage } from './proc-stats.js'
import type { Row } from './report.js'
import type { ScaleRow } from './scale-report.js'
import { type ScaleShape, placeSockets, postingLanes, usersNeeded } from './scale-workload.js'
import { type StepContext, closeSockets, openSockets, rateStep } from './workloads.js'

export interface ScaleSettings {
  shape: ScaleShape
  /** Posts per second over all conversations. */
  rate: number
  seconds: number
  warmUpSeconds: number
  /** Settings for every node on top of the design's (--env). */
  extraEnv: Record<string, string>
  /** Each node's Postgres pool: 30 nodes must stay under max_connections. */
  dbPoolMax: number
  startConcurrency: number
  load: LoadProcesses
}

/** How long the parts' idle CPU is sampled, with the sockets open and nothing posted. */
const IDLE_SECONDS = 5

/**
 * The step's figures per delivery and per node, from what rateStep measured, the bus counters'
 * increase, and the parts' idle CPU, which is taken off: what a delivery costs, not what 30 idle
 * processes spend on their timers meanwhile.
 */
function scaleRow(step: Row, idle: Sampled, bus: BusCounters, labels: Pick<ScaleRow, 'nodes' | 'redis' | 'design' | 'env'>, seconds: number): ScaleRow {
  const lost = step.lost ?? 0
  const deliveries = Math.round((step.expected ?? 0) * seconds) - lost
  const stepSeconds = (step.windowUs[1] - step.windowUs[0]) / 1e6
  const idleSeconds = (idle.windowUs[1] - idle.windowUs[0]) / 1e6
  const busy = (part: 'redis' | 'nodes') => step.usage[part].cpuSeconds - (idle.usage[part].cpuSeconds / idleSeconds) * stepSeconds
  const perDelivery = (cpuSeconds: number) => (cpuSeconds * 1e6) / deliveries
  const perNodeSecond = (events: number) => events / labels.nodes / seconds
  return {
    ...labels,
    offered: step.offered ?? 0,
    delivered: step.delivered ?? 0,
    deliveries,
    lost,
    dup: step.dup ?? 0,
    failed: step.failed ?? 0,
    latency: step.latency as ScaleRow['latency'],
    redisCpuUsPerDelivery: perDelivery(busy('redis')),
    nodesCpuUsPerDelivery: perDelivery(busy('nodes')),
    idleCpu: { redis: idle.usage.redis.cpu, nodes: idle.usage.nodes.cpu },
    bus,
    readPerWanted: bus.received / bus.wanted,
    readPerNodePerSecond: perNodeSecond(bus.received),
    wantedPerNodePerSecond: perNodeSecond(bus.wanted),
    usage: step.usage,
    machine: step.machine,
    windowUs: step.windowUs,
  }
}

/** The design's name, and each --env setting after it: "broadcast +STREAM_SHARDS=4". */
const labelOf = (design: BusDesign, extraEnv: Record<string, string>): string =>
  [design, ...Object.entries(extraEnv).map(([name, value]) => `+${name}=${value}`)].join(' ')

/**
 * One row of the scale bench: a fresh Redis of `kind`, `nodes` fresh nodes on the design's settings
 * with a fresh database, the workload's sockets opened, an unmeasured warm-up, then one open-loop
 * step measured; everything it started is stopped again.
 */
export async function measureScale(kind: RedisKind, nodes: number, design: BusDesign, settings: ScaleSettings): Promise<ScaleRow> {
  const { shape, rate, seconds, load } = settings
  const token = randomBytes(16).toString('hex')
  const env = { ...BUS_DESIGNS[design], ...settings.extraEnv }
  const redis = await REDIS_KINDS[kind]()
  try {
    const cluster = await startBenchCluster(nodes, {
      nodeEnv: () => ({ ...env, DB_POOL_MAX: String(settings.dbPoolMax), METRICS_TOKEN: token }),
      redisEnv: redis.env,
      startConcurrency: settings.startConcurrency,
    })
    try {
      const users = await registerUsers(cluster.urls, usersNeeded(shape), `s${Date.now().toString(36)}`)
      const conversationIds = await createConversations(cluster.urls, users[0]!, shape.conversations, 'scale')
      const sockets = placeSockets(cluster.urls, users, conversationIds, shape)
      const lanes = postingLanes(sockets, shape)
      const ctx: StepContext = {
        load,
        stepMs: seconds * 1000,
        pidsOf: () => ({ nodes: cluster.nodePids, postgres: pidsNamed('postgres'), redis: redis.pids, load: [process.pid, ...load.pids] }),
      }
      await openSockets(ctx, sockets)
      try {
        await rateStep(ctx, 'warm-up', rate, lanes, () => shape.members, settings.warmUpSeconds * 1000)
        const stopIdle = sampleUsage(ctx.pidsOf)
        await setTimeout(IDLE_SECONDS * 1000)
        const idle = stopIdle()
        const before = await scrapeBusCounters(cluster.urls, token)
        const step = await rateStep(ctx, 'scale', rate, lanes, () => shape.members)
        const bus = busDelta(before, await scrapeBusCounters(cluster.urls, token))
        return scaleRow(step, idle, bus, { nodes, redis: kind, design: labelOf(design, settings.extraEnv), env }, seconds)
      } finally {
        await closeSockets(ctx)
      }
    } finally {
      await cluster.stop()
    }
  } finally {
    await redis.stop()
  }
}
