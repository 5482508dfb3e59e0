import t from 'tap'
import type { NodeProcess } from '../deploy/spawn-node.js'
import { startCluster } from './helpers/cluster.js'
import { register, request } from './helpers/http-client.js'
import { until } from './helpers/waiting.js'
import { TestSocket } from './helpers/ws-client.js'

const DRAIN_MS = 3000
const CLOSE_WINDOW_MS = 1500
const SOCKETS = 40
const node = (
  await startCluster(t, 'shutdown', 1, {
    SHUTDOWN_DRAIN_MS: String(DRAIN_MS),
    SHUTDOWN_CLOSE_WINDOW_MS: String(CLOSE_WINDOW_MS),
    SHUTDOWN_GRACE_MS: '10000',
  })
)[0] as NodeProcess
const { url } = node

t.test('SIGTERM: /readyz turns 503 first, sockets stay served for the drain delay, then get 1012 spread over the window', async (t) => {
  const user = await register(url)
  const sockets = await Promise.all(Array.from({ length: SOCKETS }, () => TestSocket.connect(url, user.cookie)))
  const closedAt = new Map<TestSocket, number>()
  for (const socket of sockets) socket.ws.on('close', () => closedAt.set(socket, Date.now()))

  const signalled = Date.now()
  node.child.kill('SIGTERM')
  const draining = await until(async () => {
    const res = await request(url, 'GET', '/readyz')
    return res.status === 503 && res
  }, '/readyz to turn 503')
  t.same(draining.body, { status: 'shutting down' })
  t.equal(closedAt.size, 0, 'every socket is still open when readiness has turned')
  const served = await request(url, 'GET', '/api/conversations', { cookie: user.cookie })
  t.equal(served.status, 200, 'requests are still served while the balancer notices')
  t.match(await sockets[0]!.call({ type: 'ping', id: 'p' }), { type: 'pong' }, 'and so are sockets')

  await until(() => closedAt.size === SOCKETS, 'every socket to close', DRAIN_MS + CLOSE_WINDOW_MS + 20_000)
  t.same(new Set(sockets.map((s) => s.closed?.code)), new Set([1012]), 'each with 1012, service restart')
  const times = [...closedAt.values()].sort((x, y) => x - y)
  const first = times[0]! - signalled
  const spread = times[times.length - 1]! - times[0]!
  t.ok(first >= DRAIN_MS, `the first 1012 came ${first} ms after SIGTERM, not before the drain delay`)
  t.ok(spread >= CLOSE_WINDOW_MS / 2, `the closes were spread over ${spread} ms, not sent at once`)
  t.equal(await node.exited, 0, 'and the node exits 0, within its grace')
})
