import { once } from 'node:events'
import type { Socket } from 'node:net'
import t, { type Test } from 'tap'
import WebSocket from 'ws'
import { errorShapeViolation } from './helpers/error-shape.js'
import { newUsername, register } from './helpers/http-client.js'
import { startNode } from './helpers/in-process.js'
import { type RawAnswer, rawExchange } from './helpers/raw-http.js'
import { TestSocket } from './helpers/ws-client.js'

const { url, app } = await startNode(t, 'error_shapes')
const host = new URL(url).host

/** An answer as fetch gives it, in the form the shape check reads. */
async function fetched(path: string, init: RequestInit = {}) {
  const res = await fetch(url + path, init)
  return { status: res.status, contentType: res.headers.get('content-type') ?? undefined, body: await res.text(), headers: res.headers }
}

/** The first answer on a raw connection. */
const ofRaw = ([answer]: RawAnswer[]) =>
  answer ? { status: answer.status, contentType: answer.headers['content-type'], body: answer.body } : { status: 0, contentType: undefined, body: '' }

function documented(t: Test, answer: { status: number; contentType: string | undefined; body: string }, status: number, what: string) {
  t.equal(answer.status, status, `${what}: ${status}`)
  t.equal(errorShapeViolation(answer), undefined, `${what}: the documented body (${answer.body.slice(0, 120)})`)
}

const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

t.test('an inbox cursor the server did not make is 400, whatever its timestamp says', async (t) => {
  const { cookie } = await register(url, newUsername('cursor'))
  const forged = [
    '2026-13-01 00:00:00+00', // month 13
    '2026-02-30 00:00:00+00', // February 30
    '2023-02-29 00:00:00+00', // not a leap year
    '2026-04-31 00:00:00+00',
    '2026-01-01 29:00:00+00', // hour 29
    '2026-01-01 24:00:00+00',
    '2026-01-01 00:60:00+00',
    '2026-01-01 00:00:60+00',
    '0000-01-01 00:00:00+00', // year 0000
    '2026-01-01 00:00:00+99', // offset +99
    '2026-01-01 00:00:00+16',
    '2026-01-01 00:00:00+14:60',
    '2026-00-10 00:00:00+00',
    '2026-01-00 00:00:00+00',
  ]
  for (const timestamp of forged) {
    documented(t, await fetched(`/api/inbox?cursor=${cursorOf([timestamp, 1])}`, { headers: { cookie } }), 400, timestamp)
  }
  for (const cursor of [cursorOf(['2026-01-01 00:00:00+00', 2 ** 63]), cursorOf(['2026-01-01 00:00:00+00', 0]), cursorOf({}), '!!!', cursorOf(null)]) {
    documented(t, await fetched(`/api/inbox?cursor=${cursor}`, { headers: { cookie } }), 400, `cursor ${cursor}`)
  }
  for (const timestamp of ['2024-02-29 23:59:59.999999+00', '2026-06-30 12:00:00.5-15:59', '9999-12-31 23:59:59+00', '0001-01-01 00:00:00+05:30']) {
    const res = await fetched(`/api/inbox?cursor=${cursorOf([timestamp, 1])}`, { headers: { cookie } })
    t.same([res.status, JSON.parse(res.body)], [200, { conversations: [], next: null }], `a real instant pages: ${timestamp}`)
  }
})

t.test("Fastify's own routing errors go through the one error mapping", async (t) => {
  const long = '1'.repeat(101)
  for (const path of [`/api/conversations/${long}`, `/api/conversations/1/${long}`, `/admin/users/${long}`, `/api/direct/${'a'.repeat(101)}`]) {
    documented(t, await fetched(path), 404, `a path parameter over 100 characters, ${path.slice(0, 30)}…`)
  }
  for (const path of ['/api/conversations/%zz', '/api/conversations/1/%E0%A4%A', '/api/direct/%C0']) {
    documented(t, await fetched(path), 404, `a path that is not valid URL encoding, ${path}`)
  }
})

t.test('requests the HTTP parser refuses get the documented body', async (t) => {
  const malformed = await rawExchange(url, `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nthis is no header\r\n\r\n`)
  documented(t, ofRaw(malformed), 400, 'a malformed header line')
  const badMethod = await rawExchange(url, `G(T /healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n`)
  documented(t, ofRaw(badMethod), 400, 'a malformed method')
  const huge = await rawExchange(url, `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`)
  documented(t, ofRaw(huge), 431, 'headers over the limit')
})

t.test('requests Node would answer by itself get the documented body', async (t) => {
  documented(t, ofRaw(await rawExchange(url, 'PUT /api/inbox HTTP/1.1\r\n\r\n')), 400, 'an HTTP/1.1 request without Host')
  const old = await rawExchange(url, 'GET /healthz HTTP/1.0\r\n\r\n')
  t.equal(old[0]?.status, 200, 'HTTP/1.0 needs no Host')
  const expecting = await rawExchange(url, `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nExpect: something-else\r\n\r\n`)
  t.equal(expecting[0]?.status, 200, 'an expectation the node does not know is ignored, not an empty 417')
})

t.test('GET /ws without an upgrade is 426 with the documented body', async (t) => {
  const plain = await fetched('/ws')
  documented(t, plain, 426, 'GET /ws')
  t.equal(plain.headers.get('upgrade'), 'websocket', 'names the protocol to upgrade to')
  t.equal((await fetched('/ws', { headers: { authorization: 'Bearer forged' } })).status, 401, 'a bad credential is still 401 first')
  const head = await fetch(`${url}/ws`, { method: 'HEAD' })
  t.equal(head.status, 426, 'HEAD /ws too')
})

const handshake = (path: string, headers: Record<string, string> = {}) => {
  const all = {
    Host: host,
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    ...headers,
  }
  const lines = Object.entries(all).filter(([, value]) => value !== '')
  return `GET ${path} HTTP/1.1\r\n${lines.map(([name, value]) => `${name}: ${value}`).join('\r\n')}\r\n\r\n`
}

t.test('a WebSocket handshake anywhere but /ws is refused with the documented body, never upgraded', async (t) => {
  for (const path of ['/api/conversations', '/healthz', '/api/conversations/1', '/auth/login', '/no/such/route']) {
    documented(t, ofRaw(await rawExchange(url, handshake(path))), 404, `upgrade to ${path}`)
  }
  const refused = await new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/healthz`)
    ws.once('unexpected-response', (req, res) => {
      req.destroy()
      resolve(res.statusCode ?? 0)
    })
    ws.once('open', () => reject(new Error('a REST route upgraded')))
    ws.once('error', reject)
  })
  t.equal(refused, 404, 'a WebSocket client is told 404, not upgraded and closed')
  t.equal((await fetched('/healthz')).status, 200, 'the node goes on serving')
})

t.test('a malformed handshake at /ws gets the documented 400', async (t) => {
  const cases: [string, Record<string, string>][] = [
    ['no key', { 'Sec-WebSocket-Key': '' }],
    ['a key of the wrong shape', { 'Sec-WebSocket-Key': 'short' }],
    ['no version', { 'Sec-WebSocket-Version': '' }],
    ['an unknown version', { 'Sec-WebSocket-Version': '99' }],
    ['another protocol', { Upgrade: 'h2c' }],
    ['a subprotocol list that does not parse', { 'Sec-WebSocket-Protocol': 'chat.v1,,bearer x' }],
  ]
  for (const [what, headers] of cases) documented(t, ofRaw(await rawExchange(url, handshake('/ws', headers))), 400, what)
  const good = await rawExchange(url, handshake('/ws'))
  t.equal(good[0]?.status, 101, 'a well-formed one still upgrades')
})

t.test('a client that breaks the WebSocket protocol reads the documented close code, not 1006', async (t) => {
  const { cookie } = await register(url, newUsername('breaker'))
  const transport = (ws: WebSocket) => (ws as unknown as { _socket: Socket })._socket
  const breaches: [string, number, (ws: WebSocket) => void][] = [
    ['a frame over 32 KiB', 1009, (ws) => ws.send('x'.repeat(1_000_000))],
    ['a text frame that is not UTF-8', 1007, (ws) => ws.send(Buffer.from([0xff]), { binary: false })],
    ['an unmasked frame', 1002, (ws) => transport(ws).write(Buffer.from([0x81, 0x02, 0x68, 0x69]))],
  ]
  for (const [what, code, breach] of breaches) {
    const socket = await TestSocket.connect(url, cookie)
    // The node's side of this socket: the newest, while earlier ones may still be closing.
    const server = [...app.websocketServer.clients].at(-1)
    // The client sends more behind the breach, which the node will not read, and reads nothing
    // until the node has answered, then writes again, as a busy client does. Had the node dropped
    // the connection at once, with data unread, the write would meet a reset and the client would
    // lose the close frame it had not read yet.
    transport(socket.ws).pause()
    const answered = once(server as WebSocket, 'error')
    breach(socket.ws)
    socket.ws.send('x'.repeat(100_000))
    await answered
    socket.ws.send('more')
    transport(socket.ws).resume()
    t.equal((await socket.waitForClose()).code, code, what)
  }
})
