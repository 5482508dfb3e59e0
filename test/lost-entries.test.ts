import pg from 'pg'
import t, { type Test } from 'tap'
import { OwnRedis } from './faults/redis-server.js'
import { startCluster } from './helpers/cluster.js'
import { createConversation, postMessage, register } from './helpers/http-client.js'
import { commitUnpublished } from './helpers/unpublished.js'
import { TestSocket } from './helpers/ws-client.js'

// Two real nodes on a Redis of this test's own, which it makes refuse writes.
const redis = await OwnRedis.start()
t.teardown(() => redis.stop())
const nodes = await startCluster(t, 'lost_entries', 2, { REDIS_URL: redis.url })
const [a, b] = nodes.map((n) => n.url) as [string, string]
const alice = await register(a)

/** A socket on each node, subscribed to a new conversation. */
async function watchers(t: Test) {
  const { id } = await createConversation(a, alice.cookie)
  const sockets = await Promise.all([a, b].map((url) => TestSocket.connect(url, alice.cookie)))
  t.teardown(() => sockets.forEach((s) => s.close()))
  for (const [i, socket] of sockets.entries()) await socket.call({ type: 'subscribe', id: `s${i}`, conversationId: id })
  return { id, sockets }
}

t.test('an event committed but never published reaches the live sockets of every node, with nothing after it', async (t) => {
  const { id, sockets } = await watchers(t)
  // A writer that died between COMMIT and XADD. Nothing is posted after it.
  const db = new pg.Client({ connectionString: nodes.databaseUrl })
  await db.connect()
  await commitUnpublished(db, id, alice.username, 'lost in transit')
  await db.end()
  for (const socket of sockets) {
    const [event] = await socket.waitForEvents(1, 30_000)
    t.same([event.seq, event.message.text], [1, 'lost in transit'], 'delivered live, from Postgres')
  }
})

t.test('while Redis refuses writes, posts are acknowledged and still reach every node; then the stream carries on', async (t) => {
  const { id, sockets } = await watchers(t)
  await redis.refuseWrites(true)
  t.teardown(() => redis.refuseWrites(false))
  t.equal((await postMessage(a, alice.cookie, id, 'over REST')).status, 201, 'a REST post is stored and acknowledged')
  const ack = await sockets[1]!.call({ type: 'send', id: 'c1', conversationId: id, text: 'over the socket' })
  t.equal(ack.type, 'ack', 'a socket post is stored and acknowledged')
  for (const socket of sockets) {
    await socket.waitForEvents(2, 30_000)
    t.same(socket.events.map((e) => [e.seq, e.message.text]), [[1, 'over REST'], [2, 'over the socket']], 'delivered live while Redis refuses')
  }

  await redis.refuseWrites(false)
  await postMessage(b, alice.cookie, id, 'after')
  for (const socket of sockets) {
    await socket.waitForEvents(3, 30_000)
    t.same(socket.events.map((e) => e.seq), [1, 2, 3], 'once each, in order')
  }
})
