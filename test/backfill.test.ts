import pg from 'pg'
import t from 'tap'
import type WebSocket from 'ws'
import { FRAME_MAX_BYTES } from '../src/protocol/events.js'
import { MAX_SUBSCRIPTIONS_PER_SOCKET, SUBSCRIBES_PER_SECOND } from '../src/protocol/limits.js'
import { startNode } from './helpers/in-process.js'
import { createConversation, postMessage, register } from './helpers/http-client.js'
import { TestSocket } from './helpers/ws-client.js'

// A slow-consumer bound far below a resume page: a backfill that went out as one frame, or that
// counted against the bound, would close every resuming socket.
const node = await startNode(t, 'backfill', { WS_MAX_BUFFERED_BYTES: '65536', RESUME_MAX_BYTES: String(2 * 1024 * 1024) })
const { url } = node
const alice = await register(url)
const bob = await register(url)

type RawSocket = WebSocket & { _socket: import('node:net').Socket }

/** Posts `count` messages of the given text, a few at a time. */
async function postMany(conversationId: number, count: number, text: (i: number) => string): Promise<void> {
  for (let i = 0; i < count; i += 10) {
    await Promise.all(Array.from({ length: Math.min(10, count - i) }, (_, k) => postMessage(url, alice.cookie, conversationId, text(i + k))))
  }
}

/** Writes `count` messages straight into a conversation's log, as that many posts would. */
async function writeLog(conversationId: number, count: number, text: string): Promise<void> {
  const db = new pg.Client({ connectionString: node.config.databaseUrl })
  await db.connect()
  try {
    await db.query(
      `WITH c AS (UPDATE conversations SET last_seq = last_seq + $3, message_count = message_count + $3, last_message_seq = last_seq + $3
                   WHERE id = $1 RETURNING id, last_seq - $3 AS base)
       INSERT INTO messages (conversation_id, seq, kind, author_id, text)
       SELECT c.id, c.base + n, 'message', u.id, $4 || n FROM c, generate_series(1, $3::int) AS n, users u WHERE u.username = $2`,
      [conversationId, alice.username, count, text],
    )
  } finally {
    await db.end()
  }
}

/** Polls a condition that no frame announces. */
async function eventually(probe: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!probe()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Subscribes with afterSeq and asks again after every page that was cut, as docs/protocol.md says; answers the replies. */
async function resumeToEnd(socket: TestSocket, conversationId: number, afterSeq: number): Promise<any[]> {
  const replies = []
  for (let page = 0, from = afterSeq; page < 100_000; page++) {
    const reply = await socket.call({ type: 'subscribe', id: `r${page}`, conversationId, afterSeq: from })
    replies.push(reply)
    if (reply.type !== 'subscribed') throw new Error(`resume refused: ${JSON.stringify(reply)}`)
    if (reply.complete) return replies
    from = reply.lastSeq
  }
  throw new Error('resume never completed')
}

t.test('a socket far behind, with pages larger than the slow-consumer bound, resumes every event once and in order', async (t) => {
  const { id } = await createConversation(url, alice.cookie)
  // 3 bytes per character: 12 kB a message, 3.6 MB in all.
  await postMany(id, 300, (i) => `${i} ${'€'.repeat(3990)}`)
  const socket = await TestSocket.connect(url, bob.cookie)
  t.teardown(() => socket.close())
  const replies = await resumeToEnd(socket, id, 0)
  t.notOk(socket.closed, 'never closed as a slow consumer')
  t.same(socket.events.map((e) => e.seq), Array.from({ length: 300 }, (_, i) => i + 1), 'every event once, in order')
  t.ok(replies.length > 1, `the backfill came in ${replies.length} pages`)
  t.ok(replies.slice(0, -1).every((r) => r.complete === false), 'each cut page says so')
  const frames = socket.frames.filter((f) => f.type === 'events')
  t.ok(frames.length > replies.length, `${frames.length} frames`)
  const largest = Math.max(...frames.map((f) => Buffer.byteLength(JSON.stringify(f))))
  t.ok(largest <= FRAME_MAX_BYTES, `every frame within FRAME_MAX_BYTES (the largest: ${largest} bytes)`)
})

t.test('a backfill waits for a socket that does not read, and never closes it for that', async (t) => {
  const { id } = await createConversation(url, alice.cookie)
  // Control characters take 6 bytes each in JSON: a page of 500 is about 12 MB, more than the
  // kernel's socket buffers take.
  await writeLog(id, 500, '\u0001'.repeat(3990))
  const socket = await TestSocket.connect(url, bob.cookie)
  t.teardown(() => socket.close())
  const raw = (socket.ws as RawSocket)._socket
  const serverSide = [...node.app.websocketServer.clients].find((c) => (c as RawSocket)._socket.remotePort === raw.localPort)
  if (!serverSide) throw new Error("no server side for the test's socket")
  raw.pause()
  socket.send({ type: 'subscribe', id: 'r', conversationId: id, afterSeq: 0 })
  // The kernel's buffers fill first; then the node holds what it could not write, and its backfill waits.
  await eventually(() => serverSide.bufferedAmount > 0, 'the node to hold unsent backfill')
  t.equal(serverSide.readyState, serverSide.OPEN, 'a backfill the client has not read yet does not close its socket')
  t.ok(serverSide.bufferedAmount <= 2 * FRAME_MAX_BYTES, `the node holds at most a frame or two unsent (${serverSide.bufferedAmount} bytes)`)
  raw.resume()
  const reply = await socket.waitFor((f) => f.id === 'r', 'the reply', 0, 60_000)
  t.same(reply, { type: 'subscribed', id: 'r', conversationId: id, lastSeq: 500, complete: true })
  t.same(socket.events.map((e) => e.seq), Array.from({ length: 500 }, (_, i) => i + 1), 'every event once, in order')
  t.notOk(socket.closed)
})

t.test('a resume 100,000 events behind pages through to the end', async (t) => {
  const { id } = await createConversation(url, alice.cookie)
  await writeLog(id, 100_000, 'm')
  const socket = await TestSocket.connect(url, bob.cookie)
  t.teardown(() => socket.close())
  const replies = await resumeToEnd(socket, id, 0)
  t.equal(socket.events.length, 100_000, `${replies.length} pages`)
  t.ok(socket.events.every((e, i) => e.seq === i + 1 && e.message.text === `m${i + 1}`), 'every event once, in order')
  t.ok(replies.every((r, i) => i === 0 || r.lastSeq - replies[i - 1].lastSeq <= 500), 'no page over RESUME_LIMIT')
  // Only the events, not what the test socket kept of them: the node's own memory is the bench's to measure.
  socket.events.length = 0
  socket.frames.length = 0
})

t.test('a socket that resubscribes in a tight loop gets busy, then rate_limited, and stays usable', async (t) => {
  const { id } = await createConversation(url, alice.cookie)
  await postMessage(url, alice.cookie, id, 'something to resume')
  const socket = await TestSocket.connect(url, bob.cookie)
  t.teardown(() => socket.close())

  // Faster than the node answers: past the frames a socket may have waiting, it says busy.
  const burst = 300
  for (let i = 0; i < burst; i++) socket.send({ type: 'subscribe', id: `burst${i}`, conversationId: id, afterSeq: 0 })
  await socket.until(() => (socket.frames.filter((f) => f.id?.startsWith('burst')).length === burst ? true : undefined), 'every frame answered', 60_000)
  const busy = socket.frames.filter((f) => f.id?.startsWith('burst') && f.type === 'error')
  t.ok(busy.length > 0 && busy.every((f) => f.code === 'busy'), `${busy.length} of ${burst} refused as busy`)

  // One at a time: served until the socket's budget is spent, then rate_limited with a time to wait.
  const started = performance.now()
  let served = 0
  let refusal: any
  for (let i = 0; !refusal && i < 10 * MAX_SUBSCRIPTIONS_PER_SOCKET; i++) {
    const reply = await socket.call({ type: 'subscribe', id: `loop${i}`, conversationId: id, afterSeq: 0 })
    if (reply.type === 'subscribed') served++
    else refusal = reply
  }
  const seconds = (performance.now() - started) / 1000
  t.equal(refusal?.code, 'rate_limited', `refused after ${served} in ${seconds.toFixed(1)} s`)
  t.ok(refusal.retryAfterSeconds >= 1, 'and told when to retry')
  t.ok(served <= MAX_SUBSCRIPTIONS_PER_SOCKET + SUBSCRIBES_PER_SECOND * seconds, 'no more served than the budget')
  t.same(await socket.call({ type: 'ping', id: 'still-here' }), { type: 'pong', id: 'still-here' })
})
