import net from 'node:net'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { OwnRedis } from './faults/redis-server.js'
import { TcpProxy } from './faults/tcp-proxy.js'

/** An echo server: what the proxy is tested against. */
async function echoServer(t: Test): Promise<number> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {})
    socket.pipe(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return (server.address() as net.AddressInfo).port
}

/** A client connection that records what it reads and how it ended. */
function connect(port: number) {
  const socket = net.connect({ host: '127.0.0.1', port })
  const state = { received: '', ended: false }
  socket.on('data', (chunk) => (state.received += chunk.toString()))
  socket.on('error', () => {})
  socket.on('close', () => (state.ended = true))
  return { socket, state }
}

async function until(probe: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

t.test('the proxy forwards, holds in a blackhole, and resets when down', async (t) => {
  const proxy = await TcpProxy.start({ host: '127.0.0.1', port: await echoServer(t) })
  t.teardown(() => proxy.close())

  const a = connect(proxy.port)
  a.socket.write('one')
  await until(() => a.state.received === 'one', 'echo')

  proxy.set('blackhole')
  a.socket.write('two')
  const b = connect(proxy.port)
  b.socket.write('held')
  // Nothing may come back while held; the open connection proves the proxy is still there.
  const probe = connect(proxy.port)
  await until(() => proxy.connections === 3, 'three connections held')
  t.equal(a.state.received, 'one', 'nothing flows in a blackhole')
  t.equal(b.state.received, '', 'a new connection is held too')
  t.notOk(a.state.ended || b.state.ended, 'and nothing is closed')

  proxy.set('open')
  await until(() => a.state.received === 'onetwo' && b.state.received === 'held', 'held bytes to flow')
  t.pass('held bytes flow once open, as retransmission would deliver them')
  probe.socket.destroy()

  proxy.set('down')
  await until(() => a.state.ended && b.state.ended, 'connections reset')
  const c = connect(proxy.port)
  await until(() => c.state.ended, 'a new connection refused while down')
  t.equal(c.state.received, '')

  proxy.set('open')
  const d = connect(proxy.port)
  d.socket.write('back')
  await until(() => d.state.received === 'back', 'echo after restore')
  t.pass('serves again once open')
  proxy.resetConnections()
  await until(() => d.state.ended, 'reset')
  t.pass('resetConnections drops open connections')
})

t.test('a Redis of our own restarts empty and refuses writes on demand', async (t) => {
  const own = await OwnRedis.start()
  t.teardown(() => own.stop())
  const redis = new Redis(own.url, { maxRetriesPerRequest: 1 })
  redis.on('error', () => {})
  t.teardown(() => redis.disconnect())

  await redis.set('k', 'v')
  await own.refuseWrites(true)
  await t.rejects(redis.set('k2', 'v'), /OOM/, 'writes are refused')
  t.equal(await redis.get('k'), 'v', 'reads still work')
  await own.refuseWrites(false)
  await redis.set('k2', 'v')

  await own.restartEmpty()
  await until(() => redis.status === 'ready', 'reconnect')
  t.equal(await redis.get('k'), null, 'restarted empty')

  await redis.set('k3', 'v')
  await t.rejects(own.startAgain(), /is running/, 'startAgain refuses while a server runs')
  await own.kill()
  await t.rejects(redis.get('k3'), 'nothing answers while it is down')
  await own.startAgain()
  await until(() => redis.status === 'ready', 'reconnect after startAgain')
  t.equal(await redis.get('k3'), null, 'started again empty')
})
