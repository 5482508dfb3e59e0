import { appendFileSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { LatencySummary } from './latency.js'
import { PARTS, type Sampled } from './proc-stats.js'

/** One step of a workload: what was offered, what arrived, how fast, and what it cost. */
export interface Row extends Sampled {
  workload: string
  step: string
  /** Messages posted per second, as scheduled. */
  offered?: number
  /** Unique deliveries per second that arrived inside the step's window. */
  delivered?: number
  /** Deliveries per second the offered rate implies (offered × recipients). */
  expected?: number
  lost?: number
  dup?: number
  reordered?: number
  /** Posts that were refused or not answered. */
  failed?: number
  /** Due time to delivery. */
  latency?: LatencySummary
  /** Due time to the post's acknowledgement (the WS ack or the REST reply). */
  ack?: LatencySummary
  /** Figures of workloads that are not rate steps (W3, W5). */
  figures?: Record<string, number>
  /** p99 ≤ 50 ms with nothing lost or duplicated (or the workload's own target). */
  held: boolean
}

const resultsDir = fileURLToPath(new URL('./results/', import.meta.url))

const num = (n: number | undefined, width: number) => (n === undefined ? '-' : String(Math.round(n))).padStart(width)
const ms = (n: number | undefined, width: number) => (n === undefined ? '-' : n.toFixed(1)).padStart(width)

export function header(): string {
  const parts = PARTS.map((p) => `${p} cpu/wait%/MiB`.padStart(24)).join('')
  return `${'workload'.padEnd(12)}${'step'.padEnd(16)}${'offered/s'.padStart(10)}${'deliv/s'.padStart(10)}${'expect/s'.padStart(10)}${'lost'.padStart(7)}${'dup'.padStart(6)}${'p50'.padStart(8)}${'p99'.padStart(8)}${'p99.9'.padStart(8)}${'max'.padStart(8)}${'ack p99'.padStart(9)}${parts}${'machine busy/steal'.padStart(20)}  held`
}

export function formatRow(row: Row): string {
  const l = row.latency
  const usage = PARTS.map((p) => `${row.usage[p].cpu}/${row.usage[p].wait}/${row.usage[p].rssMiB}`.padStart(24)).join('')
  const figures = row.figures ? `  ${Object.entries(row.figures).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''
  return (
    `${row.workload.padEnd(12)}${row.step.padEnd(16)}${num(row.offered, 10)}${num(row.delivered, 10)}${num(row.expected, 10)}` +
    `${num(row.lost, 7)}${num(row.dup, 6)}${ms(l?.p50, 8)}${ms(l?.p99, 8)}${ms(l?.p999, 8)}${ms(l?.max, 8)}${ms(row.ack?.p99, 9)}` +
    `${usage}${`${row.machine.busy}/${row.machine.steal}`.padStart(20)}  ${row.held ? 'yes' : 'NO'}${figures}`
  )
}

/** A file of JSON lines, bench/results/<name>.jsonl, each row tagged with its run. */
export function jsonLines(name: string, run: string): { file: string; append(row: object): void } {
  mkdirSync(resultsDir, { recursive: true })
  const file = `${resultsDir}${name}.jsonl`
  return { file, append: (row) => appendFileSync(file, `${JSON.stringify({ run, ...row })}\n`) }
}

/** Prints rows as they come and appends them as JSON lines to bench/results/<run>.jsonl. */
export function createReport(run: string): { file: string; add(row: Row): void } {
  const lines = jsonLines(run, run)
  return {
    file: lines.file,
    add(row) {
      console.log(formatRow(row))
      lines.append(row)
    },
  }
}
