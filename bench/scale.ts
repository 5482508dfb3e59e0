/**
 * npm run bench:scale [-- --nodes 10,30] [--designs broadcast,shards,pubsub] [--redis single]
 *   [--conversations 600] [--members 2] [--spread 2] [--rate 300] [--seconds 20] [--warm-up 5]
 *   [--env STREAM_SHARDS=8,…] [--processes 2] [--db-pool 3] [--start-concurrency 4]
 *
 * How the cluster's delivery scales with its size, per bus design: for each Redis kind, cluster size
 * and design, starts a Redis of its own and that many nodes, places each conversation's members on
 * a few of them, posts at a fixed open-loop rate over every conversation, checks every delivery, and
 * reports what it cost Redis and the nodes per delivery and how many events each node read against
 * those it wanted. Rows go to bench/results/scale-<run>.jsonl; a markdown table is printed at the end.
 */
import { cpus, totalmem } from 'node:os'
import { parseArgs } from 'node:util'
import { REDIS_KINDS } from './bench-redis.js'
import { BUS_DESIGNS } from './bus-designs.js'
import { startLoadProcesses } from './load-processes.js'
import { jsonLines } from './report.js'
import { type ScaleRow, formatScaleRow, markdownTable, scaleHeader } from './scale-report.js'
import { type ScaleSettings, measureScale } from './scale-row.js'

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '10,30' },
    designs: { type: 'string', default: Object.keys(BUS_DESIGNS).join(',') },
    redis: { type: 'string', default: Object.keys(REDIS_KINDS).join(',') },
    conversations: { type: 'string', default: '600' },
    members: { type: 'string', default: '2' },
    spread: { type: 'string', default: '2' },
    rate: { type: 'string', default: '300' },
    seconds: { type: 'string', default: '20' },
    'warm-up': { type: 'string', default: '5' },
    env: { type: 'string', default: '' },
    processes: { type: 'string', default: '2' },
    'db-pool': { type: 'string', default: '3' },
    'start-concurrency': { type: 'string', default: '4' },
  },
})

/** A comma-separated list of names, each one of `known`'s keys. */
function namesOf<K extends string>(option: string, list: string, known: Record<K, unknown>): K[] {
  const names = list.split(',').map((name) => name.trim())
  for (const name of names) if (!(name in known)) throw new Error(`--${option}: unknown ${name}; known: ${Object.keys(known).join(', ')}`)
  return names as K[]
}

/** A number of at least `min`. */
function numberOf(option: string, text: string, min: number): number {
  const value = Number(text)
  if (!Number.isFinite(value) || value < min) throw new Error(`--${option} must be a number ≥ ${min}, not ${text}`)
  return value
}

/** NAME=value,NAME=value as settings. */
function envOf(text: string): Record<string, string> {
  const pairs = text.split(',').filter(Boolean).map((pair) => /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair.trim()))
  if (pairs.some((pair) => !pair)) throw new Error(`--env takes NAME=value,NAME=value, not ${text}`)
  return Object.fromEntries(pairs.map((pair) => [pair![1], pair![2]]))
}

const sizes = values.nodes.split(',').map((n) => numberOf('nodes', n, 1))
const designs = namesOf('designs', values.designs, BUS_DESIGNS)
const kinds = namesOf('redis', values.redis, REDIS_KINDS)
const shape = {
  conversations: numberOf('conversations', values.conversations, 1),
  members: numberOf('members', values.members, 1),
  spread: numberOf('spread', values.spread, 1),
}

const run = new Date().toISOString().replace(/[:.]/g, '-')
const lines = jsonLines(`scale-${run}`, run)
console.log(
  `bench:scale run ${run}: ${cpus().length} × ${cpus()[0]?.model}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ` +
    `${shape.conversations} conversations × ${shape.members} members on ${shape.spread} nodes each, ${values.rate} posts/s for ${values.seconds} s`,
)
const load = await startLoadProcesses(numberOf('processes', values.processes, 1))
const settings: ScaleSettings = {
  shape,
  rate: numberOf('rate', values.rate, 1),
  seconds: numberOf('seconds', values.seconds, 1),
  warmUpSeconds: numberOf('warm-up', values['warm-up'], 1),
  extraEnv: envOf(values.env),
  dbPoolMax: numberOf('db-pool', values['db-pool'], 1),
  startConcurrency: numberOf('start-concurrency', values['start-concurrency'], 1),
  load,
}
const rows: ScaleRow[] = []
// A combination that fails (a node that does not start, say) is reported, and the others still run.
const failures: string[] = []
try {
  console.log(scaleHeader())
  for (const kind of kinds) {
    for (const nodes of sizes) {
      for (const design of designs) {
        try {
          const row = await measureScale(kind, nodes, design, settings)
          rows.push(row)
          lines.append(row)
          console.log(formatScaleRow(row))
        } catch (err) {
          failures.push(`${nodes} nodes, ${kind} Redis, ${design}: ${err instanceof Error ? err.message : String(err)}`)
          console.error(`FAILED ${failures[failures.length - 1]}`)
        }
      }
    }
  }
} finally {
  load.stop()
}
console.log(`\n${markdownTable(rows)}\n\nrows: ${lines.file}`)
if (failures.length > 0) {
  console.error(`\n${failures.length} combinations failed:\n${failures.join('\n')}`)
  process.exitCode = 1
}
