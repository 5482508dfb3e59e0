import net from 'node:net'
import t from 'tap'
import { errorShapeViolation } from './helpers/error-shape.js'
import { startCluster } from './helpers/cluster.js'
import { rawExchange } from './helpers/raw-http.js'
import { until } from './helpers/waiting.js'

// A real node process: in one process with its client, the race below is hidden by the shared event loop.
const [node] = await startCluster(t, 'lingering', 1)
const url = node!.url
const host = new URL(url).host

t.test('a client still sending a request far over the header limit reads its 431, not a reset', async (t) => {
  // The node answers at 16 KiB and reads no further; were it to close at once, the rest of the
  // request arriving would make its kernel reset the connection, and the client would lose the answer.
  const longLine = `GET /api/search?q=${'%F0%9D%95%8F'.repeat(70_000)} HTTP/1.1\r\nHost: ${host}\r\n\r\n`
  const longHeader = `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'x'.repeat(1_000_000)}\r\n\r\n`
  const answers = []
  for (let i = 0; i < 20; i++) answers.push(...(await rawExchange(url, i % 2 ? longLine : longHeader, { chunkBytes: 16_384 })).slice(0, 1))
  t.same(
    answers.map((answer) => answer.status),
    Array(20).fill(431),
    'every one of 20 clients read its 431',
  )
  t.same(
    answers.map((answer) => errorShapeViolation({ status: answer.status, contentType: answer.headers['content-type'], body: answer.body })).filter(Boolean),
    [],
    'each in the documented shape',
  )
  t.equal((await fetch(`${url}/healthz`)).status, 200, 'the node goes on answering')
})

t.test('a client that goes on sending after its answer is cut off, not read forever', async (t) => {
  // Half-open: the client keeps its side open and keeps sending after the node has closed its own.
  const socket = net.connect({ host: new URL(url).hostname, port: Number(new URL(url).port), allowHalfOpen: true })
  t.teardown(() => socket.destroy())
  let received = ''
  let closed = false
  socket.on('data', (chunk) => (received += chunk.toString()))
  socket.on('error', () => {})
  socket.on('close', () => (closed = true))
  socket.write(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'x'.repeat(20_000)}`)
  const sending = setInterval(() => socket.writable && socket.write('x'.repeat(1_000)), 50)
  t.teardown(() => clearInterval(sending))
  await until(() => received.includes('\r\n\r\n'), 'the answer')
  const answeredAt = Date.now()
  await until(() => closed, 'the node to close the connection', 30_000)
  t.match(received, /^HTTP\/1\.1 431 /, 'it was answered first')
  t.ok(Date.now() - answeredAt >= 1_000, `then read for a while (${Date.now() - answeredAt} ms) before the node reset it`)
})
