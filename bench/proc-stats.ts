import { readFileSync, readdirSync } from 'node:fs'

/** The parts of the system under test whose CPU and memory each row reports. */
export const PARTS = ['nodes', 'postgres', 'redis', 'load'] as const
export type Part = (typeof PARTS)[number]

export interface Usage {
  /** Percent of one core over the window (so up to 200 on 2 cores). */
  cpu: number
  /** Peak resident memory of the part's processes together, MiB. */
  rssMiB: number
}

const TICKS_PER_SECOND = 100
const PAGE_BYTES = 4096
const SAMPLE_MS = 500

function readOr(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
}

/** utime + stime in clock ticks, or undefined for a process that is gone. */
function cpuTicks(pid: number): number | undefined {
  const stat = readOr(`/proc/${pid}/stat`)
  if (!stat) return undefined
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12])
}

function rssBytes(pid: number): number {
  const statm = readOr(`/proc/${pid}/statm`)
  return statm ? Number(statm.split(' ')[1]) * PAGE_BYTES : 0
}

/** Pids of every process whose command name is one of `names` (Postgres runs one per connection). */
export function pidsNamed(...names: string[]): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const comm = readOr(`/proc/${entry}/comm`)?.trim()
    if (comm && names.includes(comm)) pids.push(Number(entry))
  }
  return pids
}

export type PartPids = () => Record<Part, number[]>

export interface Sampled {
  usage: Record<Part, Usage>
  /** The sampled window on CLOCK_MONOTONIC in µs, the clock of .cpuprofile files: bench/profile-top.ts --from/--to. */
  windowUs: [number, number]
}

const monotonicUs = () => Number(process.hrtime.bigint() / 1000n)

/** Samples CPU time and peak RSS of each part from /proc between start() and the returned stop(). */
export function sampleUsage(pidsOf: PartPids): () => Sampled {
  const startedAt = performance.now()
  const fromUs = monotonicUs()
  const startTicks = new Map<number, number>()
  const peak = Object.fromEntries(PARTS.map((p) => [p, 0])) as Record<Part, number>
  const initial = pidsOf()
  for (const part of PARTS) for (const pid of initial[part]) startTicks.set(pid, cpuTicks(pid) ?? 0)
  const sample = () => {
    const pids = pidsOf()
    for (const part of PARTS) peak[part] = Math.max(peak[part], pids[part].reduce((sum, pid) => sum + rssBytes(pid), 0))
  }
  sample()
  const timer = setInterval(sample, SAMPLE_MS)
  return () => {
    clearInterval(timer)
    sample()
    const seconds = (performance.now() - startedAt) / 1000
    const pids = pidsOf()
    const usage = {} as Record<Part, Usage>
    for (const part of PARTS) {
      let ticks = 0
      for (const pid of pids[part]) ticks += (cpuTicks(pid) ?? 0) - (startTicks.get(pid) ?? 0)
      usage[part] = { cpu: Math.round((ticks / TICKS_PER_SECOND / seconds) * 100), rssMiB: Math.round(peak[part] / 1048576) }
    }
    return { usage, windowUs: [fromUs, monotonicUs()] }
  }
}

/** The current total RSS of some processes, in bytes. */
export const totalRss = (pids: readonly number[]): number => pids.reduce((sum, pid) => sum + rssBytes(pid), 0)
