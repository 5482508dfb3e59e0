import { randomBytes } from 'node:crypto'
import pg from 'pg'
import t from 'tap'
import type WebSocket from 'ws'
import { freePort } from '../deploy/spawn-node.js'
import { startNode } from './helpers/in-process.js'
import { createConversation, postMessage, register, request } from './helpers/http-client.js'
import { type Sample, parseExposition, total } from './helpers/prometheus.js'
import { commitUnpublished } from './helpers/unpublished.js'
import { until, within } from './helpers/waiting.js'
import { TestSocket } from './helpers/ws-client.js'

const TOKEN = randomBytes(16).toString('hex')
const bearer = { authorization: `Bearer ${TOKEN}` }
const metricsPort = await freePort()
// A node with a metrics listener of its own behind the token, and a message limit low enough to reach.
const a = await startNode(t, 'metrics', { NODE_ID: 'metrics-a', METRICS_PORT: String(metricsPort), METRICS_TOKEN: TOKEN, RATE_LIMIT_MESSAGES: '4/600' })
// Two more nodes of the same cluster in this process, each with its registry: one serves /metrics on
// its main port behind the token, one serves it nowhere.
const cluster = { DATABASE_URL: a.config.databaseUrl, REDIS_PREFIX: a.config.redisPrefix }
const b = await startNode(t, 'metrics_b', { ...cluster, NODE_ID: 'metrics-b', METRICS_TOKEN: TOKEN, WS_MAX_BUFFERED_BYTES: '1024' })
const c = await startNode(t, 'metrics_c', { ...cluster, NODE_ID: 'metrics-c' })
const aMetrics = `http://127.0.0.1:${metricsPort}/metrics`

// Ids that no metric value is by chance: finding one in an exposition means that a label carries it.
const db = new pg.Client({ connectionString: a.config.databaseUrl })
await db.connect()
t.teardown(() => db.end())
await db.query('ALTER TABLE users ALTER COLUMN id RESTART WITH 3141592001')
await db.query('ALTER TABLE conversations ALTER COLUMN id RESTART WITH 2718281001')

async function exposition(url = aMetrics): Promise<string> {
  const res = await fetch(url, { headers: bearer })
  if (res.status !== 200) throw new Error(`${url}: ${res.status}`)
  return res.text()
}

const scrape = async (url = aMetrics): Promise<Sample[]> => parseExposition(await exposition(url))

/** Scrapes until `probe` holds: what a request counts may land just after its answer. */
const scrapeUntil = (probe: (samples: Sample[]) => boolean, what: string, url = aMetrics) =>
  until(async () => {
    const samples = await scrape(url)
    return probe(samples) && samples
  }, what)

/** Sizes of the frames of a type a socket received, as they came over the wire. */
function frameSizes(socket: TestSocket, type: string): number[] {
  const sizes: number[] = []
  socket.ws.on('message', (data: WebSocket.RawData) => {
    const text = data.toString()
    if (JSON.parse(text).type === type) sizes.push(Buffer.byteLength(text))
  })
  return sizes
}
const sum = (values: number[]) => values.reduce((s, v) => s + v, 0)

const http = (labels: Record<string, string>) => (samples: Sample[]) => total(samples, 'chat_http_request_duration_seconds_count', labels)

t.test('who may read /metrics: the metrics port with the token; the main port only with a token and no port of its own', async (t) => {
  const onMain = await request(a.url, 'GET', '/metrics', { headers: bearer })
  t.same([onMain.status, onMain.body], [404, { status: 'not found' }], 'with METRICS_PORT, the main port does not serve it')
  for (const authorization of [undefined, 'Bearer wrong', `Bearer ${TOKEN}x`, `Basic ${TOKEN}`]) {
    const refused = await request(`http://127.0.0.1:${metricsPort}`, 'GET', '/metrics', { headers: authorization ? { authorization } : {} })
    t.same([refused.status, refused.body], [401, { status: 'unauthorised' }], `metrics port, ${authorization ?? 'no credential'}`)
    t.equal(refused.headers.get('www-authenticate'), 'Bearer')
  }
  const served = await fetch(aMetrics, { headers: bearer })
  t.equal(served.status, 200, 'metrics port with the token')
  t.match(served.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  t.ok(parseExposition(await served.text()).length > 0, 'the exposition parses')
  const other = await request(`http://127.0.0.1:${metricsPort}`, 'GET', '/healthz')
  t.same([other.status, other.body], [404, { status: 'not found' }], 'the metrics port serves nothing else')

  t.equal((await request(b.url, 'GET', '/metrics')).status, 401, 'a token alone: the main port asks for it')
  t.notOk('/metrics' in (await request(b.url, 'GET', '/openapi.json')).body.paths, 'an operator route, not in the API document')
  t.equal((await fetch(`${b.url}/metrics`, { headers: bearer })).status, 200, 'and serves with it')
  for (const headers of [{}, bearer]) {
    const none = await request(c.url, 'GET', '/metrics', { headers })
    t.same([none.status, none.body], [404, { status: 'not found' }], 'neither set: served nowhere, loopback included')
  }
})

t.test('traffic moves the metrics by what it did, counted once per fan-out', async (t) => {
  const before = await scrape()
  const alice = await register(a.url)
  const bob = await register(a.url)
  const { id } = await createConversation(a.url, alice.cookie)
  const reader = await TestSocket.connect(a.url, bob.cookie)
  const writer = await TestSocket.connect(a.url, alice.cookie)
  t.teardown(() => [reader, writer].forEach((s) => s.close()))
  const eventFrames = [frameSizes(reader, 'events'), frameSizes(writer, 'events')]
  const typingFrames = frameSizes(reader, 'typing')
  for (const socket of [reader, writer]) await socket.call({ type: 'subscribe', id: 's', conversationId: id })

  for (let i = 1; i <= 4; i++) t.equal((await postMessage(a.url, alice.cookie, id, `post ${i}`)).status, 201)
  t.equal((await postMessage(a.url, alice.cookie, id, 'one too many')).status, 429, 'past the message limit')
  await reader.waitForEvents(4)
  await writer.waitForEvents(4)
  writer.send({ type: 'typing', conversationId: id })
  await reader.waitFor((f) => f.type === 'typing', 'typing')
  t.match(await writer.call({ type: 'send', id: 'over', conversationId: id, text: 'over the limit' }), { type: 'error', code: 'rate_limited' })
  t.equal((await request(a.url, 'GET', `/no/such/${id}`)).status, 404)
  const resuming = await TestSocket.connect(a.url, alice.cookie)
  t.teardown(() => resuming.close())
  const backfill = frameSizes(resuming, 'events')
  t.match(await resuming.call({ type: 'subscribe', id: 'r', conversationId: id, afterSeq: 0 }), { type: 'subscribed', complete: true })

  const after = await scrapeUntil((s) => http({ route: 'unmatched' })(s) > http({ route: 'unmatched' })(before), 'the 404 counted')
  const moved = (name: string, labels: Record<string, string> = {}) => total(after, name, labels) - total(before, name, labels)
  t.equal(moved('chat_http_request_duration_seconds_count', { method: 'POST', route: '/auth/register', status: '201' }), 2, 'registrations, by route pattern')
  t.equal(moved('chat_http_request_duration_seconds_count', { method: 'POST', route: '/api/conversations/:id', status: '201' }), 4, 'posts')
  t.equal(moved('chat_http_request_duration_seconds_count', { method: 'POST', route: '/api/conversations/:id', status: '429' }), 1, 'the 429')
  t.equal(moved('chat_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status: '404' }), 1, 'the unknown path, as "unmatched"')
  t.equal(moved('chat_ws_error_frames_total', { code: 'rate_limited' }), 1, "the socket's 429")

  t.equal(moved('chat_events_relayed_total'), 4, 'each event relayed once, for both sockets')
  const [readerFrames, writerFrames] = eventFrames as [number[], number[]]
  t.same(readerFrames, writerFrames, 'both sockets got the same frames')
  t.equal(moved('chat_ws_frames_written_total', { kind: 'events' }), readerFrames.length * 2, 'frames: each fan-out × its 2 sockets')
  t.equal(moved('chat_ws_bytes_written_total', { kind: 'events' }), sum(readerFrames) * 2, 'bytes: as the sockets received them')
  t.equal(moved('chat_fanout_events_count'), readerFrames.length, 'one observation per fan-out')
  t.equal(moved('chat_fanout_events_sum'), 4, 'of the events it carried')
  t.equal(moved('chat_ws_frames_written_total', { kind: 'typing' }), 1, "typing: the reader's socket, not the typist's")
  t.equal(moved('chat_ws_bytes_written_total', { kind: 'typing' }), sum(typingFrames))

  t.equal(moved('chat_resumes_total', { complete: 'true' }), 1, 'the resume')
  t.equal(moved('chat_backfill_events_total'), 4, 'the events it missed')
  t.equal(moved('chat_ws_frames_written_total', { kind: 'backfill' }), backfill.length)
  t.equal(moved('chat_ws_bytes_written_total', { kind: 'backfill' }), sum(backfill))

  t.equal(moved('chat_append_batch_posts_sum'), 4, 'every accepted post went through the append batcher')
  t.ok(moved('chat_append_batch_posts_count') >= 1)
  t.ok(moved('chat_stream_read_entries_sum') >= 1, 'the node read its posts back from the stream')

  t.equal(total(after, 'chat_ws_sockets_open'), 3)
  t.equal(total(after, 'chat_ws_subscriptions'), 3)
  t.equal(total(after, 'chat_hub_channels'), 1)
  t.equal(total(after, 'chat_users_online'), 2)
  t.ok(total(after, 'chat_db_pool_connections') >= 1, 'the pool has connections')
  t.equal(total(after, 'chat_db_pool_waiting_requests'), 0)
  await scrapeUntil((s) => total(s, 'chat_stream_lag_entries') === 0 && total(s, 'chat_stream_lag_seconds') === 0, 'the reader to catch up')
  t.ok(total(after, 'chat_process_cpu_seconds_total') > 0, 'process metrics')
  t.equal(http({ route: '/auth/register' })(await scrape(`${b.url}/metrics`)), 0, 'another node of the same process counts only its own')
})

t.test('a gap filled from Postgres is counted, once for the node', async (t) => {
  const alice = await register(a.url)
  const { id } = await createConversation(a.url, alice.cookie)
  const sockets = await Promise.all([1, 2].map(() => TestSocket.connect(a.url, alice.cookie)))
  t.teardown(() => sockets.forEach((s) => s.close()))
  for (const socket of sockets) await socket.call({ type: 'subscribe', id: 's', conversationId: id })
  const before = await scrape()
  // Seq 1 never comes by the stream: the log heads find it, and the node reads it from Postgres.
  await commitUnpublished(db, id, alice.username, 'lost in transit')
  for (const socket of sockets) await socket.waitForEvents(1, 30_000)
  const after = await scrapeUntil((s) => total(s, 'chat_gap_fills_total') > total(before, 'chat_gap_fills_total'), 'the gap fill')
  t.equal(total(after, 'chat_gap_fills_total') - total(before, 'chat_gap_fills_total'), 1, 'one fill for two sockets')
  t.equal(total(after, 'chat_gap_fill_events_total') - total(before, 'chat_gap_fill_events_total'), 1)
})

t.test('a slow consumer is counted when it is closed', async (t) => {
  const alice = await register(b.url)
  const { id } = await createConversation(b.url, alice.cookie)
  const slow = await TestSocket.connect(b.url, alice.cookie)
  await slow.call({ type: 'subscribe', id: 's', conversationId: id })
  const raw = (slow.ws as WebSocket & { _socket: import('node:net').Socket })._socket
  raw.pause()
  const text = 'x'.repeat(4000)
  const closed = async () => total(await scrape(`${b.url}/metrics`), 'chat_ws_slow_consumer_closes_total') > 0
  // Large posts until the node gives up on the socket (WS_MAX_BUFFERED_BYTES is 1 KiB there), bounded.
  for (let posted = 0; posted < 5000 && !(await closed()); posted += 20)
    await Promise.all(Array.from({ length: 20 }, () => postMessage(b.url, alice.cookie, id, text)))
  raw.resume()
  t.equal(total(await scrape(`${b.url}/metrics`), 'chat_ws_slow_consumer_closes_total'), 1)
  t.equal((await slow.waitForClose(20_000)).code, 4008)
})

t.test('closes are counted by code; a code the node does not know is "other", so labels stay bounded', async (t) => {
  const alice = await register(a.url)
  const before = await scrape()
  const sockets = await Promise.all([1, 2].map(() => TestSocket.connect(a.url, alice.cookie)))
  sockets[0]?.ws.close(1000)
  sockets[1]?.ws.close(4321)
  const closes = (s: Sample[], code: string) => total(s, 'chat_ws_closes_total', { code }) - total(before, 'chat_ws_closes_total', { code })
  await scrapeUntil((s) => closes(s, '1000') === 1 && closes(s, 'other') === 1, 'both closes counted')
  t.pass('1000 by its code, 4321 as other')
})

t.test('no label carries a user or conversation id, nor a raw path', async (t) => {
  const { rows } = await db.query<{ id: string }>('SELECT id::text FROM users UNION ALL SELECT id::text FROM conversations')
  t.ok(rows.length > 5, `${rows.length} ids`)
  for (const [node, url] of [
    ['metrics-a', aMetrics],
    ['metrics-b', `${b.url}/metrics`],
  ] as const) {
    const text = await exposition(url)
    t.same(rows.filter(({ id }) => text.includes(id)), [], `${node}: no id anywhere in the exposition`)
    const samples = parseExposition(text)
    t.same(samples.filter((s) => s.labels.node !== node), [], `${node}: every series names its node`)
    const routes = new Set(samples.flatMap((s) => (s.labels.route === undefined ? [] : [s.labels.route])))
    t.same([...routes].filter((r) => r !== 'unmatched' && !r.startsWith('/')), [], `${node}: routes are patterns: ${[...routes].join(' ')}`)
  }
})

t.test('the metrics listener serves through the drain and closes with the node, keep-alive connections and all', async (t) => {
  const alice = await register(a.url)
  const socket = await TestSocket.connect(a.url, alice.cookie)
  const before = await scrape()
  await a.app.drain()
  t.equal((await socket.waitForClose()).code, 1012)
  const drained = await scrapeUntil(
    (s) => total(s, 'chat_ws_closes_total', { code: '1012' }) > total(before, 'chat_ws_closes_total', { code: '1012' }),
    'the 1012 close counted',
  )
  t.equal(total(drained, 'chat_ws_sockets_open'), 0, 'served after the drain')
  // The scrapes left keep-alive connections open, and these are in flight: close() waits for none.
  const inFlight = Array.from({ length: 5 }, () => fetch(aMetrics, { headers: bearer }).then((res) => res.text(), () => 'cut off'))
  await within(a.app.close(), 5000, 'closing the node')
  await Promise.all(inFlight)
  await t.rejects(fetch(aMetrics, { headers: bearer }), 'the metrics port is closed')
})
