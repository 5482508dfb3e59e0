/**
 * npm run bench [-- --full] [--only W1,W3] [--rates 1000,2000] [--targets http://a:3001,http://b:3002] [--processes 2]
 *
 * Starts 3 real nodes on loopback with a fresh database (or uses --targets), registers users, runs
 * the five workloads of docs/performance.md from separate load processes, and prints one row per
 * step. Rows also go to bench/results/<run>.jsonl. The quick profile (the default) takes a few
 * minutes; --full steps each workload until p99 passes 50 ms or something is lost (and when even
 * the first step fails, halves the rate until one holds).
 */
import { execFileSync } from 'node:child_process'
import { cpus, totalmem } from 'node:os'
import { parseArgs } from 'node:util'
import { type BenchTarget, externalTarget, startBenchCluster } from './cluster.js'
import { registerUsers } from './fixtures.js'
import { startLoadProcesses } from './load-processes.js'
import { pidsNamed } from './proc-stats.js'
import { createReport, header } from './report.js'
import { type BenchContext, WORKLOADS } from './workloads.js'

const { values } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    only: { type: 'string' },
    rates: { type: 'string' },
    targets: { type: 'string' },
    processes: { type: 'string', default: '2' },
  },
})

const names = (values.only?.split(',') ?? Object.keys(WORKLOADS)).map((n) => n.trim().toUpperCase())
for (const name of names) if (!(name in WORKLOADS)) throw new Error(`unknown workload ${name}; known: ${Object.keys(WORKLOADS).join(', ')}`)
// W3 runs first, on fresh nodes.
const order = (['W3', 'W1', 'W2', 'W4', 'W5'] as const).filter((n) => names.includes(n))

const run = new Date().toISOString().replace(/[:.]/g, '-')
const report = createReport(run)
console.log(`bench ${values.full ? 'full' : 'quick'} run ${run}: ${cpus().length} × ${cpus()[0]?.model}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`)

const target: BenchTarget = values.targets ? externalTarget(values.targets.split(',')) : await startBenchCluster(3)
const load = await startLoadProcesses(Number(values.processes))
const summaries: string[] = []
try {
  const users = await registerUsers(target.urls, Math.max(...order.map((n) => WORKLOADS[n].users)), `b${Date.now().toString(36)}`)
  // W3 measures what sockets add to a node's memory, so it gets nodes whose heaps the registrations
  // did not grow, started as in production (compiled, from this code built now); the workloads after
  // it run on them too.
  if (order.includes('W3') && target.restart) {
    execFileSync('npm', ['run', 'build'], { stdio: 'ignore' })
    await target.restart('compiled')
  }
  const ctx: BenchContext = {
    urls: target.urls,
    nodePids: target.nodePids,
    users,
    load,
    pidsOf: () => ({
      nodes: target.nodePids,
      postgres: pidsNamed('postgres'),
      redis: pidsNamed('redis-server'),
      load: [process.pid, ...load.pids],
    }),
    full: values.full,
    rates: values.rates?.split(',').map(Number),
    stepMs: values.full ? 10_000 : 4_000,
    add: report.add,
  }
  console.log(header())
  for (const name of order) summaries.push(await WORKLOADS[name].run(ctx))
} finally {
  load.stop()
  await target.stop()
}
console.log(`\n${summaries.join('\n')}\nrows: ${report.file}`)
