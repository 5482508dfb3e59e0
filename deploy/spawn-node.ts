import { type ChildProcess, spawn } from 'node:child_process'
import net from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/** How a node is started: from the TypeScript sources through tsx, or as `npm start` runs it, compiled (`npm run build`). */
const launches = {
  source: ['--import', 'tsx', fileURLToPath(new URL('../src/server.ts', import.meta.url))],
  compiled: ['--enable-source-maps', fileURLToPath(new URL('../dist/src/server.js', import.meta.url))],
}

export type Launch = keyof typeof launches

export interface NodeProcess {
  url: string
  port: number
  child: ChildProcess
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number | null>
  /** Every line the process wrote, stdout and stderr. */
  output: string[]
}

/**
 * `count` distinct ports that were free a moment ago, for servers to listen on. Each is held until
 * all are found: the kernel picks a port that was let go at random again, so one-at-a-time lookups
 * may hand out the same port twice.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => net.createServer())
  const listening = await Promise.allSettled(
    servers.map(
      (server) =>
        new Promise<number>((resolve, reject) => {
          server.once('error', reject)
          server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port))
        }),
    ),
  )
  await Promise.all(servers.filter((server) => server.listening).map((server) => new Promise((resolve) => server.close(resolve))))
  return listening.map((result) => {
    if (result.status === 'rejected') throw result.reason
    return result.value
  })
}

/** A port that was free a moment ago, for a node to listen on. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0] as number
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url)).ok
  } catch {
    return false
  }
}

/** Where a node runs: the address it binds and is reached at, and a command it runs under (`ip netns exec NAME`, say). */
export interface Placement {
  host: string
  launcher: string[]
}

/**
 * Starts one real node process (node --import tsx src/server.ts, or the compiled dist/src/server.js)
 * on a port, with the given environment on top of this one's, and resolves once /healthz answers.
 * `onLine` sees each line it writes; `nodeArgs` go to node itself (--cpu-prof, say). It listens on
 * loopback unless a placement (`host`, `launcher`) puts it elsewhere.
 */
export async function spawnNode(
  port: number,
  env: Record<string, string>,
  onLine?: (line: string) => void,
  { nodeArgs = [], from = 'source', host = '127.0.0.1', launcher = [] }: { nodeArgs?: string[]; from?: Launch } & Partial<Placement> = {},
): Promise<NodeProcess> {
  // A compiled node is started as in production: without the loaders the test runner puts in NODE_OPTIONS.
  const { NODE_OPTIONS, ...inherited } = process.env
  const [command = process.execPath, ...args] = [...launcher, process.execPath, ...nodeArgs, ...launches[from]]
  const child = spawn(command, args, {
    env: { ...inherited, ...(from === 'source' && NODE_OPTIONS !== undefined && { NODE_OPTIONS }), ...env, HOST: host, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output: string[] = []
  const record = (line: string) => {
    output.push(line)
    onLine?.(line)
  }
  createInterface({ input: child.stdout! }).on('line', record)
  createInterface({ input: child.stderr! }).on('line', record)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const url = `http://${host}:${port}`
  const deadline = Date.now() + 60_000
  while (!(await answers(`${url}/healthz`))) {
    if (child.exitCode !== null) throw new Error(`node exited with ${child.exitCode} before it answered:\n${output.join('\n')}`)
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`node did not answer within 60 s:\n${output.join('\n')}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return { url, port, child, exited, output }
}

/** Sends SIGTERM to every node still running and waits for all of them to exit. */
export async function stopNodes(nodes: readonly NodeProcess[]): Promise<(number | null)[]> {
  for (const node of nodes) if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGTERM')
  return Promise.all(nodes.map((n) => n.exited))
}
