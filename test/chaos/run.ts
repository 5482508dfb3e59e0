/**
 * npm run chaos: every scenario, long version, each on a fresh cluster; prints a table, appends one
 * JSON line per scenario to test/chaos/results/chaos.jsonl (git-ignored), and exits 1 on any
 * violation or a convergence over its bound.
 *
 *   npm run chaos -- --short                 the short version (what `npm test` runs)
 *   npm run chaos -- --only sigkill,flaky-network
 *   npm run chaos -- --redis cluster         the scenarios that run on a Redis Cluster, on one
 *   npm run chaos -- --env BUS_ROUTING=pubsub  a setting of every node, over the scenario's (repeatable)
 */
import { execFileSync } from 'node:child_process'
import { appendFileSync, mkdirSync } from 'node:fs'
import os from 'node:os'
import { parseArgs } from 'node:util'
import { VIOLATIONS } from './checker.js'
import { type RedisKind, closeEveryCluster } from './cluster.js'
import { type Length, SCENARIOS, runsOn } from './scenarios.js'
import { type TrialResult, runTrial } from './trial.js'

const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    only: { type: 'string' },
    redis: { type: 'string', default: 'single' },
    env: { type: 'string', multiple: true, default: [] },
  },
})
const length: Length = values.short ? 'short' : 'long'
const REDIS_KINDS: readonly RedisKind[] = ['single', 'cluster']
const redis = REDIS_KINDS.find((kind) => kind === values.redis)
if (!redis) {
  console.error(`unknown Redis ${values.redis}; --redis is one of ${REDIS_KINDS.join(', ')}`)
  process.exit(2)
}
const badSetting = values.env.find((setting) => !/^\w+=/.test(setting))
if (badSetting !== undefined) {
  console.error(`--env takes NAME=value, not ${badSetting}`)
  process.exit(2)
}
const env = Object.fromEntries(values.env.map((setting) => [setting.slice(0, setting.indexOf('=')), setting.slice(setting.indexOf('=') + 1)]))
const available = SCENARIOS.filter((scenario) => runsOn(scenario, redis))
const only = values.only?.split(',')
const unknown = only?.filter((name) => !available.some((scenario) => scenario.name === name)) ?? []
if (unknown.length > 0) {
  console.error(`no scenario ${unknown.join(', ')} on a ${redis} Redis; the scenarios there are ${available.map((s) => s.name).join(', ')}`)
  process.exit(2)
}
const chosen = available.filter((scenario) => !only || only.includes(scenario.name))

const resultsDir = new URL('./results/', import.meta.url)
mkdirSync(resultsDir, { recursive: true })
const resultsFile = new URL('chaos.jsonl', resultsDir)

function git(...args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8' }).trim()
  } catch {
    return 'unknown'
  }
}
const run = {
  at: new Date().toISOString(),
  commit: git('rev-parse', '--short', 'HEAD'),
  dirty: git('status', '--porcelain', '--untracked-files=no') !== '',
  node: process.version,
  cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}`,
  load: os.loadavg().map((n) => n.toFixed(2)).join(' '),
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: removing the clusters`)
    void closeEveryCluster().finally(() => process.exit(130))
  })
}

console.log(`chaos (${length}, ${redis} Redis${values.env.length > 0 ? `, ${values.env.join(' ')}` : ''}) on ${run.commit}${run.dirty ? ' (uncommitted changes)' : ''}, ${run.node}, ${run.cpus}, load ${run.load}`)
const results: (TrialResult | { scenario: string; error: string })[] = []
for (const scenario of chosen) {
  const started = Date.now()
  const stage = (what: string) => console.log(`  ${scenario.name}: ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
  let result: TrialResult | { scenario: string; error: string }
  try {
    result = await runTrial(scenario, length, { onStage: stage, redis, env })
    if (Object.keys(result.notes).length > 0) console.log(`  ${scenario.name}: ${JSON.stringify(result.notes)}`)
    for (const failure of result.failures) console.log(`  ${scenario.name}: FAILED: ${failure}`)
    for (const problem of result.problems.slice(0, 10)) console.log(`  ${scenario.name}: ${problem}`)
  } catch (err) {
    result = { scenario: scenario.name, error: (err as Error).stack ?? String(err) }
    console.log(`  ${scenario.name}: ERROR: ${result.error}`)
  }
  results.push(result)
  appendFileSync(resultsFile, `${JSON.stringify({ run, ...result })}\n`)
}

const columns = ['scenario', 'acked', 'stored', 'delivered', 'crashes', ...VIOLATIONS, 'converged ms', 'bound ms', 'result']
const rows = results.map((result) =>
  'error' in result
    ? [result.scenario, ...columns.slice(1, -1).map(() => '-'), 'ERROR']
    : [
        result.scenario,
        result.acknowledged,
        result.stored,
        result.deliveries,
        result.crashes.length,
        ...VIOLATIONS.map((key) => result.verdict[key]),
        result.convergenceMs ?? 'never',
        result.boundMs,
        result.passed ? 'pass' : 'FAIL',
      ].map(String),
)
const widths = columns.map((column, i) => Math.max(column.length, ...rows.map((row) => (row[i] as string).length)))
const line = (cells: string[]) => cells.map((cell, i) => cell.padStart(widths[i] as number)).join('  ')
console.log(`\n${line(columns)}\n${rows.map(line).join('\n')}`)
console.log(`\nresults appended to ${resultsFile.pathname}`)
process.exit(results.every((result) => 'passed' in result && result.passed) ? 0 : 1)
