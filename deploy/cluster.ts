/**
 * npm run cluster: the docker-compose topology without Docker. Starts 3 nodes on loopback ports
 * against the local Postgres and Redis (settings from the environment, as for one node) and, when
 * HAProxy is installed (apt-get install haproxy), a WebSocket-aware load balancer in front of them.
 * Ctrl-C or SIGTERM stops everything cleanly.
 *
 *   CLUSTER_BASE_PORT=3001   first node port (then 3002, 3003)
 *   CLUSTER_LB_PORT=3000     HAProxy's port
 *   CLUSTER_SIZE=3
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { type NodeProcess, spawnNode, stopNodes } from './spawn-node.js'

const basePort = Number(process.env.CLUSTER_BASE_PORT ?? 3001)
const lbPort = Number(process.env.CLUSTER_LB_PORT ?? 3000)
const size = Number(process.env.CLUSTER_SIZE ?? 3)

function haproxyInstalled(): boolean {
  try {
    execFileSync('haproxy', ['-v'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** deploy/haproxy.cfg with loopback addresses: its compose server lines give way to the local nodes. */
function localHaproxyConfig(ports: number[]): string {
  const template = readFileSync(fileURLToPath(new URL('./haproxy.cfg', import.meta.url)), 'utf8')
  const withoutServers = template.replace(/^\s*server .*\n?/gm, '').replace('bind :3000', `bind 127.0.0.1:${lbPort}`)
  // The backend is the file's last section, so the servers are appended to it.
  const servers = ports.map((port, i) => `  server node${i + 1} 127.0.0.1:${port} check\n`).join('')
  const file = path.join(tmpdir(), `chat-haproxy-${process.pid}.cfg`)
  writeFileSync(file, `${withoutServers.trimEnd()}\n${servers}`)
  return file
}

const nodes: NodeProcess[] = []
let haproxy: ChildProcess | undefined
let stopping = false

async function stop(): Promise<void> {
  if (stopping) return
  stopping = true
  console.log('stopping the cluster')
  haproxy?.kill('SIGTERM')
  const codes = await stopNodes(nodes)
  console.log(`nodes exited with ${codes.join(', ')}`)
  process.exit(codes.every((c) => c === 0) ? 0 : 1)
}
// Handlers first, so that nodes started before a failure or a Ctrl-C are stopped too.
process.on('SIGINT', () => void stop())
process.on('SIGTERM', () => void stop())

// The nodes share their signing keys through Postgres (or JWT_KEYS, when the environment sets it).
// Behind the local HAProxy, the client's address is the one it appends.
const withBalancer = haproxyInstalled()
const env: Record<string, string> = withBalancer ? { TRUST_PROXY: '127.0.0.1' } : {}

const started = await Promise.allSettled(
  Array.from({ length: size }, async (_, i) => {
    const node = await spawnNode(basePort + i, { NODE_ID: `node${i + 1}`, ...env }, (line) => process.stdout.write(`[node${i + 1}] ${line}\n`))
    nodes.push(node)
    void node.exited.then(() => stop())
  }),
)
for (const result of started) if (result.status === 'rejected') console.error(String(result.reason))
if (started.some((r) => r.status === 'rejected')) await stop()

if (withBalancer) {
  haproxy = spawn('haproxy', ['-f', localHaproxyConfig(nodes.map((n) => n.port))], { stdio: 'inherit' })
  console.log(`cluster up: load balancer on http://127.0.0.1:${lbPort}, nodes on ${nodes.map((n) => n.url).join(', ')}`)
} else {
  console.log(`cluster up: nodes on ${nodes.map((n) => n.url).join(', ')} (install haproxy for a load balancer in front)`)
}
