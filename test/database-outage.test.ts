import pg from 'pg'
import t from 'tap'
import { TcpProxy } from './faults/tcp-proxy.js'
import { request } from './helpers/http-client.js'
import { isolatedEnvironment } from './helpers/isolation.js'
import { parseExposition, total } from './helpers/prometheus.js'
import { untilSomeoneWaitsForALock } from './helpers/sql.js'
import { nodeWithUser } from './helpers/node-with-user.js'
import { unstructuredLines, until, within } from './helpers/waiting.js'

// A real node whose Postgres is reached through a proxy that the test cuts. Short timeouts keep the
// test quick; the bound they give (README, DB_QUERY_TIMEOUT_MS) is what the node is held to.
const CONNECT_TIMEOUT_MS = 1000
const QUERY_TIMEOUT_MS = 5000
/** A post may wait for the batch in flight before its own: two statements' worth, plus a busy machine's slack. */
const POST_BOUND_MS = 2 * (CONNECT_TIMEOUT_MS + QUERY_TIMEOUT_MS + 500) + 10_000
const READY_BOUND_MS = 2000 + 10_000
const METRICS_TOKEN = 'database-outage-metrics'

const isolated = await isolatedEnvironment(t, 'db_outage')
const database = new URL(isolated.databaseUrl)
const proxy = await TcpProxy.start({ host: database.hostname, port: Number(database.port || 5432) })
t.teardown(() => proxy.close())
const throughProxy = new URL(isolated.databaseUrl)
throughProxy.port = String(proxy.port)

// Stopped before the proxy closes (teardowns run last first), so that it stops against a live Postgres.
const { node, cookie, conversationId: id, socket } = await nodeWithUser(t, 'db_outage', {
  DATABASE_URL: throughProxy.toString(),
  DB_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
  DB_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
  // Sessions stay cached, so that what a post waits for in an outage is its own append.
  SESSION_CACHE_MS: '60000',
  METRICS_TOKEN,
})

const post = (text: string, key: string) =>
  request(node.url, 'POST', `/api/conversations/${id}`, { cookie, body: { text }, headers: { 'idempotency-key': key } })

async function texts(): Promise<string[]> {
  const res = await request(node.url, 'GET', `/api/conversations/${id}?N=100`, { cookie })
  return res.body.messages.map((m: { text: string }) => m.text)
}

async function readyAgain(): Promise<void> {
  await until(async () => (await request(node.url, 'GET', '/readyz')).status === 200, 'readiness after Postgres returned', 30_000)
}

t.test('a blackholed Postgres: 503 with Retry-After, an unavailable frame, /readyz names it; retries get the original', async (t) => {
  t.equal((await post('before', 'k-0')).status, 201)
  proxy.set('blackhole')
  t.teardown(() => proxy.set('open'))

  const refused = await within(post('during', 'k-1'), POST_BOUND_MS, 'a post to a blackholed Postgres')
  t.equal(refused.status, 503, 'a post answers 503')
  t.same(refused.body, { status: 'unavailable' })
  t.ok(Number(refused.headers.get('retry-after')) >= 1, `with Retry-After ${refused.headers.get('retry-after')}`)

  const from = socket.frames.length
  socket.send({ type: 'send', id: 'w-1', conversationId: id, text: 'sent during' })
  const frame = await socket.waitFor((f) => f.id === 'w-1', 'the answer to a send', from, POST_BOUND_MS)
  t.match(frame, { type: 'error', id: 'w-1', code: 'unavailable' }, 'a send answers an unavailable error frame')
  t.ok(frame.retryAfterSeconds >= 1, 'with retryAfterSeconds')

  const ready = await within(request(node.url, 'GET', '/readyz'), READY_BOUND_MS, '/readyz')
  t.equal(ready.status, 503)
  t.same(ready.body, { status: 'unavailable', postgres: false, redis: true }, '/readyz says Postgres is the one down')
  const metrics = parseExposition(await (await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text())
  t.ok(total(metrics, 'chat_db_unavailable_total', { reason: 'query_timeout' }) >= 1, 'the metrics count the statements that ran out')
  t.equal(total(metrics, 'chat_http_request_duration_seconds_count', { route: '/api/conversations/:id', status: '503' }), 1, 'and the 503')
  t.equal(total(metrics, 'chat_ws_error_frames_total', { code: 'unavailable' }), 1, "and the socket's")

  proxy.set('open')
  await readyAgain()
  const retried = await post('during', 'k-1')
  t.equal(retried.status, 201, 'the retry with the same key succeeds')
  t.match(await socket.call({ type: 'send', id: 'w-1', conversationId: id, text: 'sent during' }), { type: 'ack', id: 'w-1' })
  // The first attempts' statements were held, not lost: they may have run once Postgres was back,
  // in either order, and then the retries answered them.
  t.same((await texts()).sort(), ['before', 'during', 'sent during'], 'each message stored once')
})

t.test('connections reset under a post in flight: the node stays up, answers 503, and the retry gets what was stored', async (t) => {
  // Hold the conversation's row lock from outside the node, so that its append is in flight in Postgres.
  const locker = new pg.Client({ connectionString: isolated.databaseUrl })
  await locker.connect()
  t.teardown(() => locker.end())
  await locker.query('BEGIN')
  await locker.query('SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE', [id])
  const pending = post('in flight', 'k-2')
  await untilSomeoneWaitsForALock(locker, 'append_messages')
  proxy.set('down')
  t.teardown(() => proxy.set('open'))

  const refused = await within(pending, POST_BOUND_MS, 'the post in flight')
  t.equal(refused.status, 503, 'the post in flight answers 503, not 500')
  t.same(refused.body, { status: 'unavailable' })
  const another = await within(post('while down', 'k-3'), POST_BOUND_MS, 'a post while Postgres refuses connections')
  t.equal(another.status, 503, 'so does a post while connections are refused')
  const ready = await within(request(node.url, 'GET', '/readyz'), READY_BOUND_MS, '/readyz')
  t.same([ready.status, ready.body], [503, { status: 'unavailable', postgres: false, redis: true }])

  // The append may still commit once the lock is released: the client cannot know, so it retries.
  await locker.query('ROLLBACK')
  proxy.set('open')
  await readyAgain()
  t.equal(node.child.exitCode, null, 'the node is still running')
  t.equal((await post('in flight', 'k-2')).status, 201)
  t.equal((await post('while down', 'k-3')).status, 201)
  const stored = await texts()
  t.same(stored.slice(-2), ['in flight', 'while down'], 'each retried post stored once, in order')
  t.equal(stored.filter((text) => text === 'in flight').length, 1)
})

t.test('the node logged only structured lines', async (t) => {
  t.same(unstructuredLines(node.output), [], 'every line is JSON')
})
