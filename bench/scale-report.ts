import type { BusCounters } from './bus-counters.js'
import type { LatencySummary } from './latency.js'
import type { Sampled } from './proc-stats.js'

/** One measured combination of the scale bench: a cluster size, a Redis, a bus design. */
export interface ScaleRow extends Sampled {
  nodes: number
  redis: string
  /** The design's name, and the --env settings that change it. */
  design: string
  /** Every node's settings beyond the bench's own (the design's, and --env). */
  env: Record<string, string>
  /** Posts per second, as scheduled. */
  offered: number
  /** Unique deliveries per second that arrived inside the window. */
  delivered: number
  /** Unique deliveries of the whole step, the drain included: what the CPU figures are divided by. */
  deliveries: number
  lost: number
  dup: number
  /** Posts that were refused or not answered. */
  failed: number
  latency: LatencySummary
  /** CPU of the redis-server processes per delivery, µs, beyond what they spend idle (timers, cluster gossip). */
  redisCpuUsPerDelivery: number
  /** CPU of the nodes per delivery, µs, beyond what they spend idle. */
  nodesCpuUsPerDelivery: number
  /** What the parts spend with the sockets open and nothing posted, % of one core: subtracted above. */
  idleCpu: { redis: number; nodes: number }
  /** The bus counters' increase over the step, summed over nodes. */
  bus: BusCounters
  /** Events the bus handed the nodes per event they wanted. */
  readPerWanted: number
  /** Per node and second of the window. */
  readPerNodePerSecond: number
  wantedPerNodePerSecond: number
}

const COLUMNS: [string, (row: ScaleRow) => string][] = [
  ['nodes', (r) => String(r.nodes)],
  ['redis', (r) => r.redis],
  ['design', (r) => r.design],
  ['deliv/s', (r) => String(Math.round(r.delivered))],
  ['lost', (r) => String(r.lost)],
  ['dup', (r) => String(r.dup)],
  ['p50 ms', (r) => r.latency.p50.toFixed(1)],
  ['p99 ms', (r) => r.latency.p99.toFixed(1)],
  ['redis µs/deliv', (r) => r.redisCpuUsPerDelivery.toFixed(1)],
  ['nodes µs/deliv', (r) => r.nodesCpuUsPerDelivery.toFixed(0)],
  ['idle redis/nodes %', (r) => `${r.idleCpu.redis}/${r.idleCpu.nodes}`],
  ['read/wanted', (r) => r.readPerWanted.toFixed(2)],
  ['read/node/s', (r) => r.readPerNodePerSecond.toFixed(0)],
  ['wanted/node/s', (r) => r.wantedPerNodePerSecond.toFixed(0)],
  ['busy/steal %', (r) => `${r.machine.busy}/${r.machine.steal}`],
]

const WIDTHS = COLUMNS.map(([name]) => Math.max(name.length + 2, 10))

export const scaleHeader = (): string => COLUMNS.map(([name], i) => name.padStart(WIDTHS[i] as number)).join('')

export const formatScaleRow = (row: ScaleRow): string => COLUMNS.map(([, cell], i) => cell(row).padStart(WIDTHS[i] as number)).join('')

/** The rows as a markdown table, for docs/performance.md. */
export function markdownTable(rows: readonly ScaleRow[]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [line(COLUMNS.map(([name]) => name)), line(COLUMNS.map(() => '---')), ...rows.map((row) => line(COLUMNS.map(([, cell]) => cell(row))))].join('\n')
}
