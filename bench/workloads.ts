import type { BenchUser } from './fixtures.js'
import { createConversations } from './fixtures.js'
import type { Lane, SeqRanges, SocketSpec } from './ipc.js'
import { epochNow, summarise } from './latency.js'
import type { LoadProcesses } from './load-processes.js'
import { type PartPids, sampleUsage, totalRss } from './proc-stats.js'
import type { Row } from './report.js'
import { countRanges } from './seq-set.js'

export const P99_LIMIT_MS = 50
/** An unmeasured step at a workload's first rate, so that the measured ones run on warmed-up (JIT-compiled) code. */
const WARM_UP_MS = 3000

export interface BenchContext {
  urls: string[]
  nodePids: number[]
  users: BenchUser[]
  load: LoadProcesses
  pidsOf: PartPids
  full: boolean
  /** Rates given with --rates: each of them runs, whatever the step before it did. */
  rates: number[] | undefined
  stepMs: number
  /** Prints and records a row. */
  add(row: Row): void
}

/** Sockets spread round-robin over the nodes; socket i lives in load process i % processes. */
function socketsFor(ctx: BenchContext, count: number, conversationOf: (i: number) => number[]): SocketSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    key: i,
    url: ctx.urls[i % ctx.urls.length] as string,
    cookie: (ctx.users[i % ctx.users.length] as BenchUser).cookie,
    conversationIds: conversationOf(i),
  }))
}

/** What an open-loop step needs of the bench: its load processes, the pids it samples, its default length. */
export type StepContext = Pick<BenchContext, 'load' | 'pidsOf' | 'stepMs'>

/** Opens sockets, each in the load process that owns its key. */
export async function openSockets(ctx: Pick<BenchContext, 'load'>, sockets: SocketSpec[]): Promise<void> {
  await ctx.load.all((p) => ({ cmd: 'open', sockets: sockets.filter((s) => s.key % ctx.load.size === p) }))
}

export const closeSockets = (ctx: Pick<BenchContext, 'load'>) => ctx.load.all({ cmd: 'closeAll' })

/** Rates for a workload: --rates, or the listed ones, and with --full, doubling after them until a step fails. */
function* rates(ctx: BenchContext, listed: number[], quick: number[]): Generator<number> {
  if (ctx.rates) return yield* ctx.rates
  if (!ctx.full) return yield* quick
  yield* listed
  for (let rate = (listed[listed.length - 1] as number) * 2; ; rate *= 2) yield rate
}

function mergeRanges(outcomes: { acked: SeqRanges }[]): SeqRanges {
  const merged: SeqRanges = {}
  for (const { acked } of outcomes) for (const [id, ranges] of Object.entries(acked)) (merged[Number(id)] ??= []).push(...ranges)
  return merged
}

/** Waits until every expected delivery arrived, or until none has arrived for 3 s. */
async function drain(ctx: Pick<BenchContext, 'load'>, expected: number): Promise<void> {
  let last = -1
  let stillSince = Date.now()
  for (;;) {
    const delivered = (await ctx.load.all({ cmd: 'progress' })).reduce((n, p) => n + p.delivered, 0)
    if (delivered >= expected) return
    if (delivered !== last) stillSince = Date.now()
    else if (Date.now() - stillSince > 3000) return
    last = delivered
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/**
 * One open-loop step: the load processes post `rate` messages per second for the step's window
 * through `lanes`, then every delivery is checked against the acknowledged seqs.
 */
export async function rateStep(
  ctx: StepContext,
  workload: string,
  rate: number,
  lanes: Lane[],
  recipientsOf: (conversationId: number) => number,
  durationMs = ctx.stepMs,
  judgedOn: 'delivery' | 'ack' = 'delivery',
): Promise<Row> {
  const startAt = epochNow() + 500
  const stopSampling = sampleUsage(ctx.pidsOf)
  const posted = await ctx.load.all((p) => ({
    cmd: 'post',
    plan: { startAt, durationMs, rate, lanes },
    processIndex: p,
    processes: ctx.load.size,
  }))
  const expected = mergeRanges(posted)
  const expectedDeliveries = Object.entries(expected).reduce((n, [id, r]) => n + countRanges(r) * recipientsOf(Number(id)), 0)
  await drain(ctx, expectedDeliveries)
  const sampled = stopSampling()
  const delivered = await ctx.load.all({ cmd: 'collect', expected })
  const sum = (pick: (d: (typeof delivered)[number]) => number) => delivered.reduce((n, d) => n + pick(d), 0)
  const latency = summarise(delivered.map((d) => d.latency))
  const lost = sum((d) => d.lost)
  const dup = sum((d) => d.dup)
  const failed = posted.reduce((n, p) => n + p.failed, 0)
  const seconds = durationMs / 1000
  const ack = summarise(posted.map((p) => p.ackLatency))
  const judged = judgedOn === 'ack' ? ack : latency
  return {
    workload,
    step: `${rate} msgs/s`,
    offered: rate,
    delivered: sum((d) => d.inWindow) / seconds,
    expected: expectedDeliveries / seconds,
    lost,
    dup,
    reordered: sum((d) => d.reordered),
    failed,
    latency,
    ack,
    ...sampled,
    held: judged.p99 <= P99_LIMIT_MS && lost === 0 && dup === 0 && failed === 0,
  }
}

/** With --full, a first step that fails is followed by half its rate, and so on down to this fraction of it. */
const LOWEST_FRACTION = 1 / 16

/**
 * After a warm-up, steps through rates until one fails; returns the highest rate that held. With
 * --full, when even the first step fails, halves the rate until a step holds, so that a small
 * machine still reports what it sustains.
 */
async function stepRates(
  ctx: BenchContext,
  workload: string,
  steps: Generator<number>,
  run: (rate: number, durationMs?: number) => Promise<Row>,
): Promise<string> {
  let best: Row | undefined
  let first: number | undefined
  for (const rate of steps) {
    if (first === undefined) await run(rate, WARM_UP_MS)
    first ??= rate
    const row = await run(rate)
    ctx.add(row)
    if (row.held) best = row
    else if (!ctx.rates) break
  }
  if (!best && ctx.full && !ctx.rates && first !== undefined) {
    for (let rate = first / 2; !best && rate >= first * LOWEST_FRACTION; rate /= 2) {
      const row = await run(rate)
      ctx.add(row)
      if (row.held) best = row
    }
  }
  const held = best ? `${best.offered} msgs/s (${Math.round(best.delivered ?? 0)} deliveries/s)` : 'none'
  return `${workload}: highest step held: ${held}`
}

/** Rooms of subscribers spread round-robin over the nodes, each of whom also posts into its room, stepped through rates. */
async function roomsStepped(ctx: BenchContext, name: string, rooms: number, sockets: number, listed: number[], quick: number[]): Promise<string> {
  const conversations = await createConversations(ctx.urls, ctx.users[0]!, rooms, name)
  const specs = socketsFor(ctx, sockets, (i) => [conversations[i % rooms]!])
  await openSockets(ctx, specs)
  const lanes: Lane[] = specs.map((s) => ({ kind: 'ws', socketKey: s.key, conversationIds: s.conversationIds }))
  const summary = await stepRates(ctx, name, rates(ctx, listed, quick), (rate, ms) =>
    rateStep(ctx, name, rate, lanes, () => sockets / rooms, ms),
  )
  await closeSockets(ctx)
  return summary
}

/** W1: 1,000 sockets in 100 conversations of 10. */
export const roomsWorkload = (ctx: BenchContext) => roomsStepped(ctx, 'W1 rooms', 100, 1000, [500, 1000, 2000, 4000, 8000], [500, 2000, 8000])

/** W2: one conversation with 2,000 subscribers. */
export const bigRoomWorkload = (ctx: BenchContext) => roomsStepped(ctx, 'W2 big room', 1, 2000, [25, 50, 100, 200, 400], [25, 100, 400])

/** W3's sockets: first the warm-up ones, then the measured ones; each a user of its own. */
const W3_WARM_UP = 1000
const W3_CONNECTIONS = 5000

/**
 * W3: memory per idle subscribed socket, each of a different logged-in user (as many users as
 * sockets, so that what a user costs a node, its presence and sessions, is counted too): the nodes'
 * RSS before and after opening 5,000. "Before" is taken with 1,000 sockets of other users already
 * open and kept open, so that what the first sockets grow once (V8's young generation, buffer
 * pools, compiled code) is not charged to each connection, and no closed socket's freed heap is
 * there to be reused. The nodes' RSS when they have just started is recorded beside it.
 */
export async function idleMemoryWorkload(ctx: BenchContext): Promise<string> {
  const warmUp = W3_WARM_UP
  const connections = W3_CONNECTIONS
  if (ctx.users.length < warmUp + connections) throw new Error(`W3 needs ${warmUp + connections} users, one per socket`)
  const started = totalRss(ctx.nodePids)
  const conversations = await createConversations(ctx.urls, ctx.users[0]!, 100, 'W3 idle')
  const sockets = socketsFor(ctx, warmUp + connections, (i) => [conversations[i % 100]!])
  const settle = () => new Promise((resolve) => setTimeout(resolve, 3000))
  await openSockets(ctx, sockets.slice(0, warmUp))
  await settle()
  const stopSampling = sampleUsage(ctx.pidsOf)
  const before = totalRss(ctx.nodePids)
  await openSockets(ctx, sockets.slice(warmUp))
  await settle()
  const after = totalRss(ctx.nodePids)
  const sampled = stopSampling()
  await closeSockets(ctx)
  const perConnectionKiB = ctx.nodePids.length === 0 ? Number.NaN : Math.round(((after - before) / connections / 1024) * 10) / 10
  ctx.add({
    workload: 'W3 idle',
    step: `${connections} sockets`,
    figures: {
      perConnectionKiB,
      nodeRssStartedMiB: Math.round(started / ctx.nodePids.length / 1048576),
      nodesRssBeforeMiB: Math.round(before / 1048576),
      nodesRssAfterMiB: Math.round(after / 1048576),
    },
    ...sampled,
    held: perConnectionKiB <= 8,
  })
  return `W3 idle: ${perConnectionKiB} KiB per connection (target ≤ 8), ${Math.round(started / ctx.nodePids.length / 1048576)} MiB a node at start`
}

/** W4: REST posts from 32 keep-alive clients into 200 conversations with 2 subscribers each. */
export async function ingestWorkload(ctx: BenchContext): Promise<string> {
  const conversations = await createConversations(ctx.urls, ctx.users[0]!, 200, 'W4 ingest')
  await openSockets(ctx, socketsFor(ctx, 400, (i) => [conversations[i % 200]!]))
  const clients = 32
  const lanes: Lane[] = Array.from({ length: clients }, (_, j) => ({
    kind: 'rest',
    url: ctx.urls[j % ctx.urls.length] as string,
    cookie: (ctx.users[j] as BenchUser).cookie,
    conversationIds: conversations.filter((_, c) => c % clients === j),
  }))
  const steps = rates(ctx, [1000, 2000, 3000, 4000, 5000, 6000], [1000, 2000, 5000])
  // W4's limit is on the POST itself (its reply), with nothing lost on the way to subscribers.
  const summary = await stepRates(ctx, 'W4 ingest', steps, (rate, ms) => rateStep(ctx, 'W4 ingest', rate, lanes, () => 2, ms, 'ack'))
  await closeSockets(ctx)
  return summary
}

/**
 * W5: 2,000 sockets (200 conversations of 10) drop at once; 50 messages are posted into each
 * conversation; every socket reconnects and resumes from the last seq it saw.
 */
export async function reconnectStormWorkload(ctx: BenchContext): Promise<string> {
  const perConversation = 50
  const conversations = await createConversations(ctx.urls, ctx.users[0]!, 200, 'W5 storm')
  await openSockets(ctx, socketsFor(ctx, 2000, (i) => [conversations[i % 200]!]))
  await ctx.load.all({ cmd: 'drop' })
  // 40 REST lanes of 5 conversations each: 50 posts land in every conversation.
  const lanes: Lane[] = Array.from({ length: 40 }, (_, j) => ({
    kind: 'rest',
    url: ctx.urls[j % ctx.urls.length] as string,
    cookie: (ctx.users[j] as BenchUser).cookie,
    conversationIds: conversations.filter((_, c) => c % 40 === j),
  }))
  const missed = conversations.length * perConversation
  const posted = await ctx.load.all((p) => ({
    cmd: 'post',
    plan: { startAt: epochNow() + 200, durationMs: (missed / 2000) * 1000, rate: 2000, lanes },
    processIndex: p,
    processes: ctx.load.size,
  }))
  const expected = mergeRanges(posted)
  const target: Record<number, number> = {}
  for (const [id, ranges] of Object.entries(expected)) target[Number(id)] = Math.max(...ranges.map((r) => r[1]))

  const stopSampling = sampleUsage(ctx.pidsOf)
  const startedAt = epochNow()
  const resumed = await ctx.load.all({ cmd: 'resume', target })
  const sampled = stopSampling()
  const convergeMs = Math.max(...resumed.map((r) => r.convergedAt)) - startedAt
  const checked = await ctx.load.all({ cmd: 'collect', expected })
  await closeSockets(ctx)
  const lost = checked.reduce((n, c) => n + c.lost, 0)
  const dup = checked.reduce((n, c) => n + c.dup, 0)
  const failed = posted.reduce((n, p) => n + p.failed, 0)
  ctx.add({
    workload: 'W5 storm',
    step: '2000 sockets',
    lost,
    dup,
    failed,
    figures: {
      convergeMs: Math.round(convergeMs),
      missedPerSocket: perConversation,
      resubscribes: resumed.reduce((n, r) => n + r.resubscribes, 0),
      postgresCpu: sampled.usage.postgres.cpu,
    },
    ...sampled,
    held: convergeMs <= 5000 && lost === 0 && dup === 0 && failed === 0,
  })
  return `W5 storm: every socket had every missed message after ${(convergeMs / 1000).toFixed(2)} s (target ≤ 5 s), lost ${lost}, dup ${dup}`
}

/** Each workload, and how many users it connects. */
export const WORKLOADS = {
  W1: { run: roomsWorkload, users: 1000 },
  W2: { run: bigRoomWorkload, users: 2000 },
  W3: { run: idleMemoryWorkload, users: W3_WARM_UP + W3_CONNECTIONS },
  W4: { run: ingestWorkload, users: 400 },
  W5: { run: reconnectStormWorkload, users: 2000 },
} as const
