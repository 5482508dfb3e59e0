import t from 'tap'
import { startCluster } from './helpers/cluster.js'
import { createConversation, postMessage, register, request } from './helpers/http-client.js'
import { parseExposition, total } from './helpers/prometheus.js'
import { until } from './helpers/waiting.js'
import { TestSocket } from './helpers/ws-client.js'

// Three real nodes per way of routing events (BUS_ROUTING), each with a conversation watched on
// two nodes and one watched on the third only: which node reads which events, counted by the
// nodes' own metrics, and every event delivered live, once and in order.

const TOKEN = 'bus-routing-metrics-token'
const SHARDS = 8
const POSTS = 12

/** A node's counters: events the bus handed it, those it wanted, and gap fills from Postgres. */
async function counters(url: string) {
  const res = await request(url, 'GET', '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } })
  const samples = parseExposition(String(res.body))
  return {
    received: total(samples, 'chat_bus_events_received_total'),
    wanted: total(samples, 'chat_bus_events_wanted_total'),
    gapFills: total(samples, 'chat_gap_fills_total'),
    channels: total(samples, 'chat_hub_channels'),
  }
}

type Counters = Awaited<ReturnType<typeof counters>>
const minus = (after: Counters, before: Counters) => ({
  received: after.received - before.received,
  wanted: after.wanted - before.wanted,
  gapFills: after.gapFills - before.gapFills,
})

const routings: { routing: string; env: Record<string, string>; expect: (share: { all: number; own: number }) => number | undefined }[] = [
  // Every node reads every event.
  { routing: 'broadcast', env: { STREAM_SHARDS: String(SHARDS) }, expect: ({ all }) => all },
  // A node reads only the events of the conversations it watches.
  { routing: 'pubsub', env: { BUS_ROUTING: 'pubsub' }, expect: ({ own }) => own },
]

for (const { routing, env, expect } of routings) {
  t.test(routing, async (t) => {
    const nodes = await startCluster(t, `routing_${routing}`, 3, { ...env, METRICS_TOKEN: TOKEN, GAP_TIMEOUT_MS: '5000' })
    const urls = nodes.map((n) => n.url) as [string, string, string]
    const alice = await register(urls[0])
    const { id: shared } = await createConversation(urls[0], alice.cookie, 'shared')
    const { id: alone } = await createConversation(urls[0], alice.cookie, 'alone')
    /** Which conversation the sockets of each node watch. */
    const watches: [number, number][] = [
      [0, shared],
      [1, shared],
      [2, alone],
    ]
    const sockets = await Promise.all(watches.map(([node]) => TestSocket.connect(urls[node] as string, alice.cookie)))
    t.teardown(() => sockets.forEach((s) => s.close()))
    for (const [i, [, id]] of watches.entries()) await sockets[i]?.call({ type: 'subscribe', id: `s${i}`, conversationId: id })
    const before = await Promise.all(urls.map(counters))

    // Each conversation's posts go through one node, so that they are published in seq order.
    for (let i = 1; i <= POSTS; i++) {
      await postMessage(urls[0], alice.cookie, shared, `shared ${i}`)
      await postMessage(urls[2], alice.cookie, alone, `alone ${i}`)
    }
    for (const [i, socket] of sockets.entries()) {
      const events = await socket.waitForEvents(POSTS)
      t.same(
        events.map((e) => e.seq),
        Array.from({ length: POSTS }, (_, k) => k + 1),
        `node ${watches[i]?.[0]}: every event of its conversation, once and in order`,
      )
    }

    for (const [node, url] of urls.entries()) {
      const own = POSTS
      const reads = expect({ all: 2 * POSTS, own }) as number
      const delta = await until(async () => {
        const d = minus(await counters(url), before[node] as Counters)
        return d.received >= reads && d.wanted >= own && d
      }, `node ${node}'s counters`)
      t.same(delta, { received: reads, wanted: own, gapFills: 0 }, `node ${node} read ${reads} events, wanted ${own}, all of them live`)
    }

    if (routing !== 'pubsub') return
    // Once its last socket leaves a conversation, a node no longer gets its events.
    sockets[2]?.close()
    const watcher = await TestSocket.connect(urls[0], alice.cookie)
    t.teardown(() => watcher.close())
    await watcher.call({ type: 'subscribe', id: 'w', conversationId: alone, afterSeq: POSTS })
    const idle = await until(async () => {
      const now = await counters(urls[2])
      return now.channels === 0 && now
    }, 'node 2 to let its last socket go')
    t.equal((await postMessage(urls[2], alice.cookie, alone, 'after')).status, 201)
    await watcher.waitForEvents(1)
    t.same(minus(await counters(urls[2]), idle), { received: 0, wanted: 0, gapFills: 0 }, 'the node that wrote it, with no socket on it, did not read it')
  })
}
