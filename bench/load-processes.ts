import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Command, Replies, Reply } from './ipc.js'

const entry = fileURLToPath(new URL('./load-process.ts', import.meta.url))

type Call = <C extends Command>(command: C) => Promise<Replies[C['cmd']]>

/** The bench's load processes, each driven by request and reply over IPC. */
export interface LoadProcesses {
  readonly size: number
  readonly pids: number[]
  /** Sends a command to process i. */
  call(i: number): Call
  /** Sends a command to every process and gathers the replies in order. */
  all<C extends Command>(command: C | ((i: number) => C)): Promise<Replies[C['cmd']][]>
  stop(): void
}

export async function startLoadProcesses(size: number): Promise<LoadProcesses> {
  const children: ChildProcess[] = []
  const waiting = new Map<number, { resolve: (value: any) => void; reject: (err: Error) => void }>()
  let nextId = 0
  for (let i = 0; i < size; i++) {
    // For profiling the load itself, e.g. BENCH_LOAD_ARGS="--cpu-prof --cpu-prof-dir=bench/results/load"
    const extraArgs = process.env.BENCH_LOAD_ARGS?.split(' ').filter(Boolean) ?? []
    const child = fork(entry, [], { execArgv: [...extraArgs, '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    child.on('message', (reply: Reply) => {
      const waiter = waiting.get(reply.id)
      waiting.delete(reply.id)
      if (reply.ok) waiter?.resolve(reply.result)
      else waiter?.reject(new Error(`load process ${i}: ${reply.error}`))
    })
    child.on('exit', (code, signal) => {
      if (code !== 0) for (const w of waiting.values()) w.reject(new Error(`load process ${i} exited with ${code ?? signal}`))
    })
    children.push(child)
  }
  await Promise.all(children.map((c) => new Promise((resolve) => c.once('spawn', resolve))))

  const call =
    (i: number): Call =>
    (command) =>
      new Promise((resolve, reject) => {
        const id = ++nextId
        waiting.set(id, { resolve, reject })
        children[i]!.send({ ...command, id })
      })
  return {
    size,
    pids: children.map((c) => c.pid as number),
    call,
    all: (command) => Promise.all(children.map((_, i) => call(i)(typeof command === 'function' ? command(i) : command))),
    stop: () => {
      // A process exits on its own once disconnected, which lets --cpu-prof write its profile.
      for (const child of children) if (child.connected) child.disconnect()
    },
  }
}
