import { readFileSync, readdirSync } from 'node:fs'
import { cpus } from 'node:os'

/** The parts of the system under test whose CPU and memory each row reports. */
export const PARTS = ['nodes', 'postgres', 'redis', 'load'] as const
export type Part = (typeof PARTS)[number]

export interface Usage {
  /** Percent of one core over the window (so up to 200 on 2 cores). */
  cpu: number
  /** Seconds on a CPU over the window, summed over processes and threads, unrounded: for CPU per unit of work. */
  cpuSeconds: number
  /** Time runnable but waiting for a CPU, in percent of the window (summed over processes and threads). */
  wait: number
  /** Peak resident memory of the part's processes together, MiB. */
  rssMiB: number
}

const PAGE_BYTES = 4096
const SAMPLE_MS = 500

function readOr(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
}

interface SchedTime {
  /** Nanoseconds on a CPU. */
  running: number
  /** Nanoseconds runnable but waiting for a CPU. */
  waiting: number
}

/**
 * Scheduler times summed over the process's threads, from the scheduler's own clock
 * (/proc/<pid>/task/<tid>/schedstat). utime and stime in /proc/<pid>/stat are sampled at each timer
 * tick instead, which on a 250 Hz kernel overcharges processes that wake often and run briefly.
 * Zero for a process that is gone.
 */
function schedTime(pid: number): SchedTime {
  let tids: string[] = []
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    // gone
  }
  const total = { running: 0, waiting: 0 }
  for (const tid of tids) {
    const [running = 0, waiting = 0] = (readOr(`/proc/${pid}/task/${tid}/schedstat`) ?? '').split(' ').map(Number)
    total.running += running
    total.waiting += waiting
  }
  return total
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

/** The whole machine over the window, from /proc/stat: accurate in sum even where per-process figures are not. */
export interface MachineUsage {
  /** Percent of one core busy (user, system, interrupts), so up to 200 on 2 cores. */
  busy: number
  /** Percent of one core the hypervisor took away (steal). */
  steal: number
}

export interface Sampled {
  usage: Record<Part, Usage>
  machine: MachineUsage
  /** The sampled window on CLOCK_MONOTONIC in µs, the clock of .cpuprofile files: bench/profile-top.ts --from/--to. */
  windowUs: [number, number]
}

const monotonicUs = () => Number(process.hrtime.bigint() / 1000n)

/** The cpu line of /proc/stat: user nice system idle iowait irq softirq steal, in ticks. */
function machineTicks(): { busy: number; steal: number; total: number } {
  const cpuLine = (readOr('/proc/stat') ?? '').split('\n')[0] ?? ''
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = cpuLine.trim().split(/\s+/).slice(1).map(Number)
  const busy = user + nice + system + irq + softirq
  return { busy, steal, total: busy + idle + iowait + steal }
}

/** Samples CPU time and peak RSS of each part from /proc between start() and the returned stop(). */
export function sampleUsage(pidsOf: PartPids): () => Sampled {
  const startedAt = performance.now()
  const fromUs = monotonicUs()
  const machineStart = machineTicks()
  const startTimes = new Map<number, SchedTime>()
  const peak = Object.fromEntries(PARTS.map((p) => [p, 0])) as Record<Part, number>
  const initial = pidsOf()
  for (const part of PARTS) for (const pid of initial[part]) startTimes.set(pid, schedTime(pid))
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
      let running = 0
      let waiting = 0
      for (const pid of pids[part]) {
        const now = schedTime(pid)
        const then = startTimes.get(pid) ?? { running: 0, waiting: 0 }
        running += now.running - then.running
        waiting += now.waiting - then.waiting
      }
      const percent = (nanos: number) => Math.round((nanos / 1e9 / seconds) * 100)
      usage[part] = { cpu: percent(running), cpuSeconds: running / 1e9, wait: percent(waiting), rssMiB: Math.round(peak[part] / 1048576) }
    }
    const machineEnd = machineTicks()
    const cores = cpus().length
    const share = (ticks: number) => Math.round((ticks / (machineEnd.total - machineStart.total)) * cores * 100)
    const machine = { busy: share(machineEnd.busy - machineStart.busy), steal: share(machineEnd.steal - machineStart.steal) }
    return { usage, machine, windowUs: [fromUs, monotonicUs()] }
  }
}

/** The current total RSS of some processes, in bytes. */
export const totalRss = (pids: readonly number[]): number => pids.reduce((sum, pid) => sum + rssBytes(pid), 0)
