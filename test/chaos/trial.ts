import { type ClientStats, newClientStats, pause } from './client.js'
import { ChaosCluster, type RedisKind } from './cluster.js'
import { type Verdict, check, violations } from './checker.js'
import { readHeads, readHistory } from './history.js'
import { type Length, type Scenario, TIMINGS, runsOn, until } from './scenarios.js'
import { DEFAULT_SHAPE, Workload } from './workload.js'

/** What the clients went through, summed: what the fault cost them. */
export type Costs = Omit<ClientStats, 'connections' | 'refused' | 'unacknowledged'> & {
  /** Sockets opened past the first of each client. */
  reconnects: number
}

/** The nodes' warnings and errors by message, and any line that is not a JSON log line. */
export interface LogSummary {
  warnings: Record<string, number>
  errors: Record<string, number>
  unstructured: number
  unstructuredSamples: string[]
}

export interface TrialResult {
  scenario: string
  title: string
  length: Length
  redis: RedisKind
  /** The trial's settings of the nodes, over the scenario's. */
  env: Record<string, string>
  /** The bound the result was judged by. */
  boundMs: number
  /** Measured: the slowest reader's time to converge after the fault ended (null: not converged). */
  convergenceMs: number | null
  faultMs: number
  acknowledged: number
  stored: number
  deliveries: number
  readers: number
  writers: number
  verdict: Verdict
  /** Messages refused for good, or never acknowledged, and anything else a correct run never shows. */
  problems: string[]
  costs: Costs
  /** Node processes that exited without being told to, with when (ms after the fault ended). */
  crashes: { node: number; code: number | null; signal: string | null; afterFaultMs: number }[]
  /** Each reader's socket closes that it did not ask for, by code. */
  readerCloses: Record<string, Record<string, number>>
  notes: Record<string, unknown>
  logs: LogSummary
  passed: boolean
  /** Why it did not pass. */
  failures: string[]
  durationMs: number
}

export interface TrialOptions {
  /** The convergence bound to judge by; the scenario's documented bound by default. */
  boundMs?: number
  /** The Redis to run on: a single redis-server by default. */
  redis?: RedisKind
  /** Settings of the nodes over the scenario's (BUS_ROUTING, say). */
  env?: Record<string, string>
  /** Hook for each stage, for progress output. */
  onStage?: (stage: string) => void
}

/** How long writers may go on retrying their last messages after the load: far more than a working cluster needs. */
const WRITERS_FINISHING_LIMIT_MS = 15_000
/** How long past its bound a scenario is given to converge, so that a failure says by how much it missed. */
const CONVERGENCE_GRACE_MS = 5_000
/** How long the final resume may take: far more than it needs unless resuming is broken. */
const FINAL_RESUME_LIMIT_MS = 10_000
/** How long a trial may run in all before every client gives up: generous, only a guard against hanging. */
const TRIAL_LIMIT_MS: Record<Length, number> = { short: 120_000, long: 300_000 }

/**
 * Runs one scenario on a fresh cluster: readers live, then load, the fault under load, more load,
 * writers finishing their retries, the wait for every reader to converge, a final resume per reader
 * and the check. The cluster is removed whatever happens.
 */
export async function runTrial(scenario: Scenario, length: Length, options: TrialOptions = {}): Promise<TrialResult> {
  const startedAt = Date.now()
  const stage = options.onStage ?? (() => {})
  const timing = TIMINGS[length]
  const boundMs = options.boundMs ?? scenario.boundMs
  const deadline = startedAt + TRIAL_LIMIT_MS[length]
  const notes: Record<string, unknown> = {}
  const { redis = 'single', env = {} } = options
  if (!runsOn(scenario, redis)) throw new Error(`scenario ${scenario.name} does not run on a ${redis} Redis`)

  stage(`starting a cluster on a ${redis} Redis`)
  const cluster = await ChaosCluster.start(scenario.name, { redis, env: { ...scenario.env, ...env } })
  let closeClients = () => {}
  try {
    stage('starting clients')
    const workload = await Workload.create(cluster, { ...DEFAULT_SHAPE, ...scenario.shape }, deadline)
    closeClients = () => workload.clients.forEach((client) => client.close())
    const fault = await scenario.arm({ cluster, workload, timing, note: (key, value) => (notes[key] = value) })
    const unready = workload.clients.filter((client) => !client.ready)
    if (unready.length > 0) throw new Error(`clients without a live socket before the load: ${unready.map((client) => client.name).join(', ')}`)

    stage('load')
    workload.startWriting()
    await pause(timing.warmupMs)
    stage('fault')
    const faultStartedAt = Date.now()
    await fault()
    const faultEndedAt = Date.now()
    stage('load after the fault')
    await pause(timing.tailMs)
    stage('writers finishing')
    await workload.stopWriting(WRITERS_FINISHING_LIMIT_MS)

    stage('converging')
    const conversations = workload.conversations
    const heads = await readHeads(cluster.databaseUrl, conversations)
    // Past the bound the scenario fails anyway; waiting a while longer tells by how much.
    const waitMs = Math.max(0, Math.min(faultEndedAt + boundMs + CONVERGENCE_GRACE_MS, deadline) - Date.now())
    await until(() => workload.readers.every((reader) => reader.caughtUp(heads)), 'every reader to converge', waitMs).catch(() => {})
    // What the clients went through as documented clients, not counting the final resume.
    const costs = sumCosts(workload.clients.map((client) => client.stats))
    await Promise.all(workload.readers.map((reader) => reader.stopSocket()))
    stage('final resume')
    await Promise.all(workload.readers.map((reader) => reader.finalResume(FINAL_RESUME_LIMIT_MS)))

    stage('checking')
    const history = await readHistory(cluster.databaseUrl, conversations)
    const verdict = check({
      history,
      acks: workload.clients.flatMap((client) => client.acks),
      readers: workload.readers.map((reader) => ({ name: reader.name, reads: reader.options.reads, deliveries: reader.deliveries })),
      faultEndedAt,
    })
    const problems = workload.clients.flatMap((client) => [
      ...client.stats.refused.map((what) => `${client.name}: refused: ${what}`),
      ...client.stats.unacknowledged.map((id) => `${client.name}: never acknowledged: ${id}`),
    ])
    const failures: string[] = []
    const crashes = cluster.crashes.map(({ at, ...crash }) => ({ ...crash, afterFaultMs: at - faultEndedAt }))
    if (crashes.length > 0) failures.push(`${crashes.length} node processes crashed`)
    if (violations(verdict) > 0) failures.push('the checker found violations')
    if (problems.length > 0) failures.push(`${problems.length} problems`)
    if (verdict.convergenceMs === null)
      failures.push(`did not converge: ${verdict.onlyFromFinalResume} stored events reached a reader only through the final resume, ${verdict.missing} never`)
    else if (verdict.convergenceMs > boundMs) failures.push(`converged in ${verdict.convergenceMs} ms, over the bound of ${boundMs} ms`)
    return {
      scenario: scenario.name,
      title: scenario.title,
      length,
      redis,
      env,
      boundMs,
      convergenceMs: verdict.convergenceMs === null ? null : Math.round(verdict.convergenceMs),
      faultMs: faultEndedAt - faultStartedAt,
      acknowledged: workload.clients.reduce((n, client) => n + client.acks.length, 0),
      stored: [...history.values()].reduce((n, events) => n + events.length, 0),
      deliveries: workload.readers.reduce((n, reader) => n + reader.deliveries.length, 0),
      readers: workload.readers.length,
      writers: workload.writers.length,
      verdict,
      problems,
      costs,
      crashes,
      readerCloses: Object.fromEntries(
        workload.readers.map((reader) => [reader.name, Object.fromEntries(Object.entries(reader.stats.closes).filter(([code]) => code !== '1000'))]),
      ),
      notes,
      logs: summariseLogs(cluster.nodes.flatMap((node) => node.lines)),
      passed: failures.length === 0,
      failures,
      durationMs: Date.now() - startedAt,
    }
  } finally {
    stage('cleaning up')
    closeClients()
    await cluster.close()
  }
}

function sumCosts(all: ClientStats[]): Costs {
  const add = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + n
  }
  const { connections, refused, unacknowledged, ...zero } = newClientStats()
  const costs: Costs = { reconnects: 0, ...zero }
  for (const stats of all) {
    costs.reconnects += Math.max(0, stats.connections - 1)
    add(costs.closes, stats.closes)
    add(costs.errorFrames, stats.errorFrames)
    add(costs.httpFailures, stats.httpFailures)
    costs.writeRetries += stats.writeRetries
    costs.ackTimeouts += stats.ackTimeouts
    costs.incompleteResumes += stats.incompleteResumes
    costs.jumps += stats.jumps
    costs.repeatsDropped += stats.repeatsDropped
  }
  return costs
}

const UNSTRUCTURED_SAMPLES = 5

function summariseLogs(lines: readonly string[]): LogSummary {
  const summary: LogSummary = { warnings: {}, errors: {}, unstructured: 0, unstructuredSamples: [] }
  for (const line of lines) {
    let entry: { level?: number; msg?: string }
    try {
      entry = JSON.parse(line)
    } catch {
      summary.unstructured++
      if (summary.unstructuredSamples.length < UNSTRUCTURED_SAMPLES) summary.unstructuredSamples.push(line.slice(0, 200))
      continue
    }
    const into = (entry.level ?? 0) >= 50 ? summary.errors : (entry.level ?? 0) >= 40 ? summary.warnings : undefined
    if (into) into[entry.msg ?? '?'] = (into[entry.msg ?? '?'] ?? 0) + 1
  }
  return summary
}
