import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { isolatedEnvironment } from './isolation.js'

const serverEntry = fileURLToPath(new URL('../../src/server.ts', import.meta.url))

export interface NodeProcess {
  url: string
  child: ChildProcess
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number | null>
  /** Every line the process wrote to stdout and stderr. */
  output: string[]
}

/** Starts one real node process (node --import tsx src/server.ts) and waits until it listens. */
export function spawnNode(env: Record<string, string>): Promise<NodeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', serverEntry], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', BCRYPT_COST: '10', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output: string[] = []
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  createInterface({ input: child.stderr! }).on('line', (line) => output.push(line))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start:\n${output.join('\n')}`)), 60_000)
    void exited.then((code) => reject(new Error(`node exited with ${code} before listening:\n${output.join('\n')}`)))
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line)
      try {
        const entry = JSON.parse(line)
        if (entry.msg === 'listening') {
          clearTimeout(timer)
          resolve({ url: `http://127.0.0.1:${entry.port}`, child, exited, output })
        }
      } catch {
        // not a log line
      }
    })
  })
}

/**
 * N real node processes sharing one fresh database and one Redis prefix, started at the same time (so
 * they race to create the database and migrate it). Each is stopped with SIGTERM when the test ends.
 */
export async function startCluster(t: Test, label: string, size = 3, env: Record<string, string> = {}): Promise<NodeProcess[]> {
  const isolated = await isolatedEnvironment(t, label)
  const nodes = await Promise.all(
    Array.from({ length: size }, (_, i) =>
      spawnNode({
        DATABASE_URL: isolated.databaseUrl,
        REDIS_URL: isolated.redisUrl,
        REDIS_PREFIX: isolated.redisPrefix,
        NODE_ID: `${label}-${i}`,
        ...env,
      }),
    ),
  )
  t.teardown(async () => {
    for (const node of nodes) if (node.child.exitCode === null) node.child.kill('SIGTERM')
    await Promise.all(nodes.map((n) => n.exited))
  })
  return nodes
}
