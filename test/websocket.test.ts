import t from 'tap'
import { Redis } from 'ioredis'
import pg from 'pg'
import WebSocket from 'ws'
import { startNode } from './helpers/in-process.js'
import { createConversation, postMessage, register, request } from './helpers/http-client.js'
import { HandshakeRefused, TestSocket } from './helpers/ws-client.js'

const node = await startNode(t, 'websocket', { ALLOWED_ORIGINS: 'https://chat.example.com', RESUME_LIMIT: '5', GAP_TIMEOUT_MS: '200' })
const { url } = node
const alice = await register(url)
const bob = await register(url)

async function refusal(promise: Promise<unknown>): Promise<number> {
  try {
    await promise
    return 0
  } catch (err) {
    return err instanceof HandshakeRefused ? err.status : -1
  }
}

t.test('the handshake needs a valid credential or none, and an allowed origin for a cookie', async (t) => {
  const anonymous = await TestSocket.open(url, { origin: 'https://evil.example' })
  t.same(await anonymous.waitFor((f) => f.type === 'welcome', 'welcome'), { type: 'welcome', user: null }, 'no credential: someone not logged in')
  anonymous.close()
  t.equal(await refusal(TestSocket.open(url, { cookie: 'sid=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })), 401, 'forged cookie')
  t.equal(await refusal(TestSocket.open(url, { cookie: alice.cookie, origin: 'https://evil.example' })), 403, 'foreign origin')
  t.equal(await refusal(TestSocket.open(url, { cookie: alice.cookie, origin: 'null' })), 403, 'opaque origin')
  for (const origin of [undefined, 'https://chat.example.com', url]) {
    const socket = await TestSocket.open(url, { cookie: alice.cookie, origin })
    const welcome = await socket.waitFor((f) => f.type === 'welcome', 'welcome')
    t.same(welcome, { type: 'welcome', user: alice.username }, `origin ${origin}`)
    socket.close()
  }
})

t.test('subscribers get created and deleted events in the REST message shape', async (t) => {
  const { id } = await createConversation(url, alice.cookie)
  const socket = await TestSocket.connect(url, bob.cookie)
  t.teardown(() => socket.close())
  t.same(await socket.call({ type: 'subscribe', id: 's1', conversationId: id }), {
    type: 'subscribed',
    id: 's1',
    conversationId: id,
    lastSeq: 0,
    complete: true,
  })
  const posted = await postMessage(url, alice.cookie, id, 'hello *world*')
  const rest = await request(url, 'GET', posted.body.url, { cookie: alice.cookie })
  const [created] = await socket.waitForEvents(1)
  // The REST read adds the reader's reactions; the event carries none (they follow as their own events).
  const { reactions, ...shape } = rest.body
  t.same(reactions, [])
  t.strictSame(created, { type: 'message.created', conversationId: id, seq: 1, message: shape })

  await request(url, 'DELETE', posted.body.url, { cookie: alice.cookie })
  const [, deleted] = await socket.waitForEvents(2)
  t.same(deleted, { type: 'message.deleted', conversationId: id, seq: 2, messageSeq: 1, url: posted.body.url })
})

t.test('posting over the socket is acknowledged with the client id, once', async (t) => {
  const { id } = await createConversation(url, alice.cookie)
  const socket = await TestSocket.connect(url, alice.cookie)
  t.teardown(() => socket.close())
  await socket.call({ type: 'subscribe', id: 'sub', conversationId: id })
  const ack = await socket.call({ type: 'send', id: 'c-1', conversationId: id, text: 'from the socket' })
  t.equal(ack.type, 'ack')
  t.equal(ack.id, 'c-1')
  t.equal(ack.conversationId, id)
  t.equal(ack.seq, 1)
  t.equal(ack.message.text, 'from the socket')
  t.equal(ack.message.user, alice.username)
  const retry = await socket.call({ type: 'send', id: 'c-1', conversationId: id, text: 'from the socket' })
  t.same(retry, ack, 'a retry with the same id answers with the original message')
  await socket.call({ type: 'send', id: 'c-2', conversationId: id, text: 'second' })
  const events = await socket.waitForEvents(2)
  t.same(events.map((e) => [e.seq, e.message.text]), [[1, 'from the socket'], [2, 'second']], "the author's own socket gets its posts, once")
  const listed = await request(url, 'GET', `/api/conversations/${id}`, { cookie: bob.cookie })
  t.equal(listed.body.messages.length, 2, 'the retry created nothing')
})

t.test('unsubscribed sockets get nothing', async (t) => {
  const { id } = await createConversation(url, alice.cookie)
  const other = await createConversation(url, alice.cookie)
  const watcher = await TestSocket.connect(url, bob.cookie)
  const leaver = await TestSocket.connect(url, bob.cookie)
  const stranger = await TestSocket.connect(url, bob.cookie)
  t.teardown(() => [watcher, leaver, stranger].forEach((s) => s.close()))
  await watcher.call({ type: 'subscribe', id: 'w', conversationId: id })
  await leaver.call({ type: 'subscribe', id: 'l', conversationId: id })
  await stranger.call({ type: 'subscribe', id: 's', conversationId: other.id })
  await postMessage(url, alice.cookie, id, 'one')
  await leaver.waitForEvents(1)
  t.same(await leaver.call({ type: 'unsubscribe', id: 'u', conversationId: id }), { type: 'unsubscribed', id: 'u', conversationId: id })
  await postMessage(url, alice.cookie, id, 'two')
  await postMessage(url, alice.cookie, other.id, 'elsewhere')
  await watcher.waitForEvents(2)
  await stranger.waitForEvents(1)
  t.equal(leaver.events.length, 1, 'nothing after unsubscribing')
  t.same(stranger.events.map((e) => e.message.text), ['elsewhere'], 'only its own conversation')
})

t.test('resume sends the missed events in order, then live ones', async (t) => {
  const { id } = await createConversation(url, alice.cookie)
  for (const text of ['a', 'b', 'c']) await postMessage(url, alice.cookie, id, text)
  const deleted = await postMessage(url, alice.cookie, id, 'd')
  await request(url, 'DELETE', deleted.body.url, { cookie: alice.cookie })
  const socket = await TestSocket.connect(url, bob.cookie)
  t.teardown(() => socket.close())
  const subscribed = await socket.call({ type: 'subscribe', id: 'r', conversationId: id, afterSeq: 1 })
  t.same(subscribed, { type: 'subscribed', id: 'r', conversationId: id, lastSeq: 5, complete: true })
  await postMessage(url, alice.cookie, id, 'live')
  const events = await socket.waitForEvents(5)
  t.same(
    events.map((e) => [e.seq, e.type, e.message?.text, e.message?.deleted]),
    [
      [2, 'message.created', 'b', undefined],
      [3, 'message.created', 'c', undefined],
      [4, 'message.created', '', true],
      [5, 'message.deleted', undefined, undefined],
      [6, 'message.created', 'live', undefined],
    ],
    'a message deleted since is sent scrubbed, then its tombstone',
  )
})

t.test('a resume past the limit sends one page and asks for another', async (t) => {
  const { id } = await createConversation(url, alice.cookie)
  for (let i = 1; i <= 8; i++) await postMessage(url, alice.cookie, id, `m${i}`)
  const socket = await TestSocket.connect(url, bob.cookie)
  t.teardown(() => socket.close())
  const first = await socket.call({ type: 'subscribe', id: 'p1', conversationId: id, afterSeq: 0 })
  t.same(first, { type: 'subscribed', id: 'p1', conversationId: id, lastSeq: 5, complete: false })
  await postMessage(url, alice.cookie, id, 'not live yet')
  const second = await socket.call({ type: 'subscribe', id: 'p2', conversationId: id, afterSeq: first.lastSeq })
  t.same(second, { type: 'subscribed', id: 'p2', conversationId: id, lastSeq: 9, complete: true })
  t.same(socket.events.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9], 'every seq once, in order')
})

t.test('an event that never reached the stream is read from Postgres', async (t) => {
  const { id } = await createConversation(url, alice.cookie)
  const socket = await TestSocket.connect(url, bob.cookie)
  t.teardown(() => socket.close())
  await socket.call({ type: 'subscribe', id: 's', conversationId: id })
  // A writer that died between COMMIT and XADD: the row is committed, the stream never hears of it.
  const db = new pg.Client({ connectionString: node.config.databaseUrl })
  await db.connect()
  await db.query('BEGIN')
  const { rows } = await db.query('UPDATE conversations SET last_seq = last_seq + 1, message_count = message_count + 1 WHERE id = $1 RETURNING last_seq', [id])
  await db.query(
    "INSERT INTO messages (conversation_id, seq, kind, author_id, text) SELECT $1, $2, 'message', id, 'lost in transit' FROM users WHERE username = $3",
    [id, rows[0].last_seq, alice.username],
  )
  await db.query('COMMIT')
  await db.end()
  await postMessage(url, alice.cookie, id, 'after the gap')
  const events = await socket.waitForEvents(2)
  t.same(events.map((e) => [e.seq, e.message.text]), [[1, 'lost in transit'], [2, 'after the gap']])
})

t.test('bad frames get error frames and the node carries on', async (t) => {
  const { id } = await createConversation(url, alice.cookie)
  const socket = await TestSocket.connect(url, alice.cookie)
  t.teardown(() => socket.close())
  const cases: [unknown, string, string?][] = [
    ['not json', 'bad_frame'],
    ['{"type":', 'bad_frame'],
    ['null', 'bad_frame'],
    ['[]', 'bad_frame'],
    ['"subscribe"', 'bad_frame'],
    [{ type: 'explode' }, 'bad_frame'],
    [{ type: 'subscribe', conversationId: 'x', id: 'e1' }, 'bad_frame', 'e1'],
    [{ type: 'subscribe', conversationId: -1, id: 'e2' }, 'bad_frame', 'e2'],
    [{ type: 'subscribe', conversationId: 1.5, id: 'e3' }, 'bad_frame', 'e3'],
    [{ type: 'subscribe', conversationId: id, afterSeq: -1, id: 'e4' }, 'bad_frame', 'e4'],
    [{ type: 'subscribe', conversationId: id, extra: true, id: 'e5' }, 'bad_frame', 'e5'],
    [{ type: 'send', conversationId: id, text: 'no id' }, 'bad_frame'],
    [{ type: 'send', id: 'e6', conversationId: id, text: '' }, 'bad_frame', 'e6'],
    [{ type: 'send', id: 'e7', conversationId: id, text: 'x'.repeat(4001) }, 'bad_frame', 'e7'],
    [{ type: 'send', id: 'e8', conversationId: id, text: 'nul \u0000' }, 'bad_frame', 'e8'],
    [{ type: 'send', id: 'e9', conversationId: id, text: { $ne: null } }, 'bad_frame', 'e9'],
    [{ type: 'send', id: 'e10', conversationId: 999999, text: 'nowhere' }, 'not_found', 'e10'],
    [{ type: 'subscribe', id: 'e11', conversationId: 999999 }, 'not_found', 'e11'],
    [{ type: 'subscribe', id: 'e12', conversationId: id, afterSeq: 50 }, 'invalid', 'e12'],
  ]
  for (const [frame, code, echo] of cases) {
    const from = socket.frames.length
    socket.send(frame)
    const error = await socket.waitFor((f) => f.type === 'error', JSON.stringify(frame), from)
    t.equal(error.code, code, JSON.stringify(frame).slice(0, 60))
    t.equal(error.id, echo, 'echoes the id when it has one')
    t.type(error.message, 'string')
  }
  socket.ws.send(Buffer.from([1, 2, 3]), { binary: true })
  t.equal((await socket.waitFor((f) => f.type === 'error' && /binary/.test(f.message), 'binary error')).code, 'bad_frame')
  t.same(await socket.call({ type: 'ping', id: 'still-here' }), { type: 'pong', id: 'still-here' })
  t.equal((await request(url, 'GET', `/api/conversations/${id}`, { cookie: alice.cookie })).body.messages.length, 0, 'no bad frame posted')
})

t.test('a frame over maxPayload closes the socket with 1009', async (t) => {
  const socket = await TestSocket.connect(url, alice.cookie)
  socket.send(JSON.stringify({ type: 'ping', id: 'x'.repeat(40 * 1024) }))
  t.equal((await socket.waitForClose()).code, 1009)
  const fresh = await TestSocket.connect(url, alice.cookie)
  t.same(await fresh.call({ type: 'ping', id: 'p' }), { type: 'pong', id: 'p' }, 'the node serves others')
  fresh.close()
})

t.test('a client that breaks the WebSocket protocol is closed with its code, and the node serves others', async (t) => {
  const cases: [string, (ws: WebSocket) => void, number][] = [
    ['a text frame that is not UTF-8', (ws) => ws.send(Buffer.from([0xc3, 0x28]), { binary: false }), 1007],
    ['a reserved opcode', (ws) => (ws as WebSocket & { _socket: import('node:net').Socket })._socket.write(Buffer.from([0x83, 0x80, 0, 0, 0, 0])), 1002],
  ]
  for (const [what, breakIt, code] of cases) {
    const socket = await TestSocket.connect(url, alice.cookie)
    breakIt(socket.ws)
    t.equal((await socket.waitForClose()).code, code, what)
  }
  const fresh = await TestSocket.connect(url, alice.cookie)
  t.same(await fresh.call({ type: 'ping', id: 'p' }), { type: 'pong', id: 'p' }, 'the node serves others')
  fresh.close()
})

t.test('a socket that stops reading live events is closed as a slow consumer', async (t) => {
  const { id } = await createConversation(url, alice.cookie)
  const slow = await TestSocket.connect(url, bob.cookie)
  await slow.call({ type: 'subscribe', id: 's', conversationId: id })
  type Raw = WebSocket & { _socket: import('node:net').Socket }
  const raw = (slow.ws as Raw)._socket
  raw.pause()
  // Large posts until the node gives up on the socket: first the kernel's buffers fill, then the
  // node's, past WS_MAX_BUFFERED_BYTES. Bounded, in case it never does.
  const text = 'x'.repeat(4000)
  let posted = 0
  const serverSide = [...node.app.websocketServer.clients].find((c) => (c as Raw)._socket.remotePort === raw.localPort)
  const closedByServer = () => serverSide?.readyState !== WebSocket.OPEN
  while (posted < 20_000 && !closedByServer()) {
    await Promise.all(Array.from({ length: 20 }, () => postMessage(url, alice.cookie, id, text)))
    posted += 20
  }
  raw.resume()
  const closed = await slow.waitForClose(20_000)
  t.equal(closed.code, 4008, `closed with the slow-consumer code after ${posted} posts`)
  const fresh = await TestSocket.connect(url, alice.cookie)
  t.same(await fresh.call({ type: 'ping', id: 'p' }), { type: 'pong', id: 'p' }, 'the node serves others')
  fresh.close()
})

t.test('delivery goes on when the stream is lost, as after Redis restarts empty', async (t) => {
  const { id } = await createConversation(url, alice.cookie)
  const socket = await TestSocket.connect(url, bob.cookie)
  t.teardown(() => socket.close())
  await socket.call({ type: 'subscribe', id: 's', conversationId: id })
  await postMessage(url, alice.cookie, id, 'before')
  await socket.waitForEvents(1)
  const redis = new Redis(node.config.redisUrl)
  t.equal(await redis.del(`${node.config.redisPrefix}events`), 1, 'the stream is gone')
  await redis.quit()
  await postMessage(url, alice.cookie, id, 'after')
  await socket.waitForEvents(2)
  t.same(socket.events.map((e) => [e.seq, e.message.text]), [[1, 'before'], [2, 'after']])
})
