import t, { type Test } from 'tap'
import WebSocket from 'ws'
import { register, request } from './helpers/http-client.js'
import { startNode } from './helpers/in-process.js'
import { until } from './helpers/waiting.js'
import { TestSocket } from './helpers/ws-client.js'

const PING_INTERVAL_MS = 1000
// A presence TTL of 3 s makes the offline grace 1 s, so that the freed presence shows soon.
const node = await startNode(t, 'heartbeat', { WS_PING_INTERVAL_MS: String(PING_INTERVAL_MS), PRESENCE_TTL_SECONDS: '3' })

/** A socket whose client never answers a ping: ws answers them by itself unless told not to. */
function openSilent(t: Test, url: string, cookie?: string): { closedWith: number | undefined } {
  const state: { closedWith: number | undefined } = { closedWith: undefined }
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`, { headers: cookie ? { cookie } : {}, autoPong: false, perMessageDeflate: false })
  socket.on('close', (code) => (state.closedWith = code))
  t.teardown(() => socket.terminate())
  return state
}

t.test('a socket that answers no ping is terminated and its user goes offline; one that answers stays', async (t) => {
  const watcher = await register(node.url)
  const vanishing = await register(node.url)
  await request(node.url, 'POST', `/api/direct/${vanishing.username}`, { cookie: watcher.cookie })
  const watching = await TestSocket.connect(node.url, watcher.cookie)
  t.teardown(() => watching.close())
  let pings = 0
  watching.ws.on('ping', () => pings++)

  // A client that vanished without closing, as a phone that lost its signal: it never answers a ping.
  const silent = openSilent(t, node.url, vanishing.cookie)
  await watching.waitFor((f) => f.type === 'presence' && f.user === vanishing.username && f.online, 'the silent user online')

  // Dropped within two intervals: the first ping goes unanswered, the next beat ends it.
  t.equal(await until(() => silent.closedWith, 'the silent socket to be dropped', 2 * PING_INTERVAL_MS + 10_000), 1006, 'terminated, without a close handshake')
  await watching.waitFor((f) => f.type === 'presence' && f.user === vanishing.username && !f.online, 'the silent user offline')
  t.pass('its presence goes with it')

  await until(() => pings >= 3, 'three pings to the answering socket', 3 * PING_INTERVAL_MS + 10_000)
  t.equal(watching.ws.readyState, WebSocket.OPEN, 'a socket that answers its pings stays open')
  t.match(await watching.call({ type: 'ping', id: 'p' }), { type: 'pong', id: 'p' }, 'and is served')
})

t.test('with an interval of several ticks, each socket is pinged once per interval, whichever slice it is in', async (t) => {
  const SLICED_INTERVAL_MS = 2000 // two ticks of a second: sockets are dealt into two slices
  const sliced = await startNode(t, 'heartbeat_sliced', { WS_PING_INTERVAL_MS: String(SLICED_INTERVAL_MS) })
  const answering = await Promise.all([TestSocket.open(sliced.url), TestSocket.open(sliced.url)])
  t.teardown(() => answering.forEach((s) => s.close()))
  const pings = answering.map(() => 0)
  answering.forEach((s, i) => s.ws.on('ping', () => pings[i]!++))
  const silent = [openSilent(t, sliced.url), openSilent(t, sliced.url), openSilent(t, sliced.url)]

  const dropped = await until(
    () => silent.every((s) => s.closedWith !== undefined) && silent.map((s) => s.closedWith),
    'every silent socket to be dropped',
    2 * SLICED_INTERVAL_MS + 10_000,
  )
  t.same(dropped, [1006, 1006, 1006], 'silent sockets in every slice are dropped')
  await until(() => pings.every((n) => n >= 2), 'two pings to each answering socket')
  t.ok(answering.every((s) => s.ws.readyState === WebSocket.OPEN), 'and the answering ones stay open')
})
