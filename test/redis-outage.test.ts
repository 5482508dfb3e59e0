import t from 'tap'
import { OwnRedis } from './faults/redis-server.js'
import { TcpProxy } from './faults/tcp-proxy.js'
import { request } from './helpers/http-client.js'
import { nodeWithUser } from './helpers/node-with-user.js'
import { logLines, unstructuredLines, until, within } from './helpers/waiting.js'

// A real node whose Redis (one of the test's own) is reached through a proxy that the test cuts.
const COMMAND_TIMEOUT_MS = 500
/** A post waits for the rate limit's count and for its XADD, each at most a command timeout, plus a busy machine's slack. */
const POST_BOUND_MS = 2 * COMMAND_TIMEOUT_MS + 10_000
/** src/logger.ts: a failure that repeats is logged again at most this often. */
const REPEAT_LOG_MS = 10_000

const redis = await OwnRedis.start()
t.teardown(() => redis.stop())
const proxy = await TcpProxy.start({ host: '127.0.0.1', port: redis.port })
t.teardown(() => proxy.close())

const { node, cookie, conversationId: id, socket } = await nodeWithUser(t, 'redis_outage', {
  REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
  REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
  // On, so that the fallback to counting in memory is exercised.
  RATE_LIMIT_MESSAGES: '1000/60',
})
await socket.call({ type: 'subscribe', id: 's', conversationId: id })

const post = (text: string) => request(node.url, 'POST', `/api/conversations/${id}`, { cookie, body: { text } })
const connectionErrors = (connection: string) => logLines(node.output, 'a Redis connection failed').filter((l) => l.connection === connection)

t.test('Redis refusing connections, then blackholed: requests are bounded, logs structured and rate-limited, and the node recovers', async (t) => {
  t.equal((await post('before')).status, 201)
  await socket.waitForEvents(1)

  proxy.set('down')
  t.teardown(() => proxy.set('open'))
  const refusedFrom = Date.now()
  for (let i = 1; i <= 5; i++) {
    const posted = await within(post(`down ${i}`), POST_BOUND_MS, 'a post while Redis refuses connections')
    t.equal(posted.status, 201, 'a post is stored and acknowledged: the rate limit counts in memory, the failed XADD is logged')
  }
  await until(() => connectionErrors('main').length > 0 && connectionErrors('stream reader').length > 0, 'both connections to log their failure', 30_000)
  const again = await until(() => connectionErrors('main')[1], 'the main connection to log again, later', REPEAT_LOG_MS + 30_000)
  const elapsed = Date.now() - refusedFrom
  t.ok(again.suppressed >= 1, `the repeat line counts the failures it stood for (${again.suppressed})`)
  for (const connection of ['main', 'stream reader']) {
    const lines = connectionErrors(connection)
    t.ok(lines.length <= 1 + Math.ceil(elapsed / REPEAT_LOG_MS), `${connection}: ${lines.length} lines in ${elapsed} ms`)
    t.match(lines[0], { level: 40, connection, reason: String }, 'structured, with the reason')
  }
  const publishFailures = logLines(node.output, 'publish to the stream failed')
  t.ok(publishFailures.length >= 1 && publishFailures.length < 5, `5 failed publishes, ${publishFailures.length} lines`)

  proxy.set('blackhole')
  const posted = await within(post('blackholed'), POST_BOUND_MS, 'a post while Redis is blackholed')
  t.equal(posted.status, 201, 'a post while Redis is blackholed is stored and acknowledged too')
  const ack = await within(socket.call({ type: 'send', id: 'w-1', conversationId: id, text: 'sent blackholed' }), POST_BOUND_MS, 'a send')
  t.match(ack, { type: 'ack', id: 'w-1' })
  const ready = await within(request(node.url, 'GET', '/readyz'), 2000 + 10_000, '/readyz')
  t.same([ready.status, ready.body], [503, { status: 'unavailable', postgres: true, redis: false }], '/readyz says Redis is the one down')

  proxy.set('open')
  await until(async () => (await request(node.url, 'GET', '/readyz')).status === 200, 'readiness after Redis returned', 30_000)
  t.equal((await post('after')).status, 201)
  const events = await socket.waitForEvents(9, 30_000)
  t.same(
    events.map((e) => e.seq),
    [1, 2, 3, 4, 5, 6, 7, 8, 9],
    'every event reaches the subscriber, those of the outage read from Postgres',
  )
})

t.test('the node logged only structured lines', async (t) => {
  t.same(unstructuredLines(node.output), [], 'no "[ioredis] Unhandled error event" and nothing else outside the JSON logs')
})
