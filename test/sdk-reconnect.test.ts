import t, { type Test } from 'tap'
import { type ChatEvent, ChatClient, type ChatClientOptions, FrameError, OutboxFullError } from '../client/src/index.js'
import { FakeClock, fakeSockets, settle } from './helpers/fake-network.js'

/**
 * The SDK's reconnect, resume and resend logic, on a fake clock with the server's side played by the
 * test: when it reconnects, where, what it resubscribes from, what it delivers, and what it sends again.
 */

const URLS = ['http://node-a.test', 'http://node-b.test', 'http://node-c.test']
const BACKOFF = { initialMs: 100, maxMs: 1000 }

function setup(t: Test, options: Partial<ChatClientOptions> = {}) {
  const clock = new FakeClock()
  const network = fakeSockets()
  const client = new ChatClient({
    urls: URLS,
    firstUrl: 0,
    createWebSocket: network.factory,
    clock,
    // The top of each jitter range, so that delays are exact.
    random: () => 0.999999,
    backoff: BACKOFF,
    fetch: () => Promise.reject(new Error('no network in this test')),
    ...options,
  })
  t.teardown(() => client.close())
  const delivered: ChatEvent[] = []
  client.on('event', (event) => delivered.push(event))
  const states: string[] = []
  client.on('state', ({ state }) => states.push(state))
  return { clock, network, client, delivered, states }
}

const message = (conversationId: number, seq: number, text = `m${seq}`) => ({
  type: 'message.created',
  conversationId,
  seq,
  message: { user: 'bob', text, timestamp: new Date(0).toISOString(), url: `/api/conversations/${conversationId}/${seq}`, edited: null },
})

t.test('after a lost socket it reconnects to the next node, with backoff whose ceiling doubles to its maximum', async (t) => {
  const { clock, network, client, states } = setup(t)
  const connected = client.connect()
  t.equal(network.last().url, 'ws://node-a.test/ws')
  network.last().welcome()
  await connected
  const delays: number[] = []
  for (let i = 0; i < 6; i++) {
    const before = network.sockets.length
    network.last().end(1006)
    await settle()
    delays.push(Math.round(clock.nextDueIn ?? -1))
    await clock.advance((clock.nextDueIn ?? 0) - 1)
    t.equal(network.sockets.length, before, 'nothing before the delay')
    await clock.advance(1)
    t.equal(network.sockets.length, before + 1, 'a new socket at the delay')
  }
  t.same(delays, [100, 200, 400, 800, 1000, 1000], 'jittered from zero up to a doubling ceiling, capped')
  t.same(
    network.sockets.map((socket) => new URL(socket.url).host),
    ['node-a.test', 'node-b.test', 'node-c.test', 'node-a.test', 'node-b.test', 'node-c.test', 'node-a.test'],
    'each reconnect goes to the next node',
  )
  t.ok(states.includes('reconnecting'), 'the state says it is reconnecting')
  network.last().welcome()
  network.last().end(1006)
  await settle()
  t.equal(Math.round(clock.nextDueIn ?? -1), 100, 'a welcome starts the backoff over')
})

t.test('1012 reconnects at once; 4001 with a cookie ends the session and reconnects no more', async (t) => {
  const { clock, network, client, states } = setup(t)
  const connected = client.connect()
  network.last().welcome()
  await connected
  network.last().end(1012, 'restart')
  await settle()
  t.equal(network.sockets.length, 2, 'a new socket at once, with no timer')
  t.equal(new URL(network.last().url).host, 'node-b.test')
  const ended = new Promise<string>((resolve) => client.once('session.ended', ({ reason }) => resolve(reason)))
  network.last().welcome()
  network.last().end(4001, 'session ended')
  t.match(await ended, /session ended/)
  await clock.advance(60_000)
  t.equal(network.sockets.length, 2, 'no reconnect after 4001')
  t.equal(states[states.length - 1], 'closed')
})

t.test('4001 with tokens: the refresh token renews the session and the socket comes back with the new token', async (t) => {
  const calls: string[] = []
  let refreshes = 0
  const fetch = async (input: string | URL | Request) => {
    calls.push(String(input))
    refreshes++
    return Response.json({ access_token: `access-${refreshes + 1}`, token_type: 'Bearer', expires_in: 900, refresh_token: `refresh-${refreshes + 1}` })
  }
  const { clock, network, client } = setup(t, {
    auth: 'tokens',
    tokens: { accessToken: 'access-1', refreshToken: 'refresh-1', expiresAt: 1_000_000 + 900_000 },
    fetch: fetch as typeof globalThis.fetch,
    // This server answers no ping: the heartbeat is tested on its own below.
    connection: { pingIntervalMs: 3_600_000 },
  })
  const connected = client.connect()
  t.same(network.last().protocols, ['chat.v1', 'bearer.access-1'], 'the token rides as a subprotocol')
  network.last().welcome()
  await connected
  network.last().end(4001)
  await settle()
  t.same(calls, ['http://node-a.test/auth/token/refresh'], 'the refresh token is used on the node in use')
  await clock.advance(BACKOFF.initialMs)
  t.same(network.last().protocols, ['chat.v1', 'bearer.access-2'], 'the new access token')
  network.last().welcome()

  // Before it expires, the token is renewed without a 4001: at four fifths of its life, or a minute before.
  calls.length = 0
  await clock.advance(720_000)
  t.match(calls, [/\/auth\/token\/refresh$/], 'renewed ahead of expiry')
  t.equal(network.sockets.length, 2, 'the socket stays: a token only opens it')
})

t.test('resume: afterSeq is the last seq delivered; repeats are dropped; incomplete pages and jumps ask again', async (t) => {
  const { clock, network, client, delivered } = setup(t)
  const connected = client.connect()
  network.last().welcome()
  await connected
  const live = client.subscribe(7, { afterSeq: 0 })
  const first = network.last().sentOf('subscribe')[0] as { id: string }
  t.match(first, { conversationId: 7, afterSeq: 0 })
  network.last().receive({ type: 'events', events: [message(7, 1), message(7, 2)] })
  network.last().receive({ type: 'subscribed', id: first.id, conversationId: 7, lastSeq: 2, complete: true })
  t.equal(await live, 2)

  // The socket is lost; the reconnect timer fires; the new socket is welcomed and resumes from seq 2.
  network.last().end(1006)
  await clock.advance(BACKOFF.maxMs)
  network.last().welcome()
  const resume = network.last().sentOf('subscribe')[0] as { id: string }
  t.match(resume, { conversationId: 7, afterSeq: 2 })
  network.last().receive({ type: 'events', events: [message(7, 2), message(7, 3)] })
  t.same(delivered.map((event) => event.seq), [1, 2, 3], 'the repeat of 2 is dropped')

  network.last().receive({ type: 'subscribed', id: resume.id, conversationId: 7, lastSeq: 3, complete: false })
  const page = network.last().sentOf('subscribe')[1] as { id: string }
  t.match(page, { conversationId: 7, afterSeq: 3 }, 'an incomplete page asks again from its end')
  network.last().receive({ type: 'events', events: [message(7, 4)] })
  network.last().receive({ type: 'subscribed', id: page.id, conversationId: 7, lastSeq: 4, complete: true })
  t.ok(client.isLive(7))

  network.last().receive({ type: 'events', events: [message(7, 6)] })
  t.same(delivered.map((event) => event.seq), [1, 2, 3, 4], 'nothing past a gap is delivered')
  const fill = network.last().sentOf('subscribe')[2] as { id: string }
  t.match(fill, { conversationId: 7, afterSeq: 4 }, 'a jump asks again from the last seq delivered')
  network.last().receive({ type: 'events', events: [message(7, 5), message(7, 6)] })
  network.last().receive({ type: 'subscribed', id: fill.id, conversationId: 7, lastSeq: 6, complete: true })
  t.same(delivered.map((event) => event.seq), [1, 2, 3, 4, 5, 6], 'each event once, in order')
})

t.test('the outbox sends once acknowledged, again after a lost socket or a late ack, and after a retryable refusal', async (t) => {
  const { clock, network, client } = setup(t, { outboxLimit: 3, ackTimeoutMs: 5_000 })
  const sent = client.send(7, 'hello', { id: 'm-1' })
  const connected = client.connect()
  network.last().welcome()
  await connected
  t.match(network.last().sentOf('send'), [{ id: 'm-1', conversationId: 7, text: 'hello' }], 'sent on the welcome')
  network.last().end(1006)
  await clock.advance(BACKOFF.maxMs)
  network.last().welcome()
  t.match(network.last().sentOf('send'), [{ id: 'm-1' }], 'sent again with the same id on the next socket')

  // No ack in time: the socket is given up and the send goes on the next.
  const late = network.last()
  await clock.advance(5_000)
  t.equal(late.closedWith, 4000, 'a socket that did not acknowledge in time is given up')
  await clock.advance(BACKOFF.maxMs)
  t.equal(network.sockets.length, 3)
  network.last().welcome()
  t.match(network.last().sentOf('send'), [{ id: 'm-1' }], 'and the send goes on the next, with the same id')
  network.last().receive({ type: 'error', id: 'm-1', code: 'rate_limited', message: 'slow down', retryAfterSeconds: 2 })
  await clock.advance(1_999)
  t.equal(network.last().sentOf('send').length, 1, 'not before Retry-After')
  await clock.advance(1)
  t.equal(network.last().sentOf('send').length, 2, 'again after it')
  const ack = { type: 'ack', id: 'm-1', conversationId: 7, seq: 41, message: message(7, 41).message }
  network.last().receive(ack)
  t.match(await sent, { conversationId: 7, seq: 41 }, 'resolves with the stored message')

  const refused = client.send(8, 'nope', { id: 'm-2' })
  await settle()
  network.last().receive({ type: 'error', id: 'm-2', code: 'forbidden', message: 'read only' })
  const error = await refused.catch((err: unknown) => err)
  t.ok(error instanceof FrameError && error.code === 'forbidden', 'a refusal for good rejects with its code')

  const held = [client.send(7, 'a'), client.send(7, 'b'), client.send(7, 'c')]
  const full = await client.send(7, 'd').catch((err: unknown) => err)
  t.ok(full instanceof OutboxFullError, 'past its bound the outbox refuses with a clear error')
  client.close()
  await Promise.allSettled(held)
})

t.test('a socket that answers nothing is pinged, then dropped and replaced', async (t) => {
  const { clock, network, client } = setup(t, { connection: { pingIntervalMs: 10_000, pongTimeoutMs: 3_000 } })
  const connected = client.connect()
  network.last().welcome()
  await connected
  await clock.advance(9_999)
  t.equal(network.last().sentOf('ping').length, 0, 'no ping while the interval runs')
  await clock.advance(1)
  t.equal(network.last().sentOf('ping').length, 1, 'a ping after a quiet interval')
  network.last().receive({ type: 'pong', id: 'heartbeat' })
  await clock.advance(10_000)
  t.equal(network.last().sentOf('ping').length, 2, 'answered, so pinged again an interval later')
  await clock.advance(3_000)
  t.equal(network.sockets.length, 1)
  await clock.advance(BACKOFF.maxMs)
  t.equal(network.sockets.length, 2, 'unanswered: dropped and replaced')
})

t.test('connect() settles: resolved by the welcome, rejected by a session that ended or a close', async (t) => {
  const { network, client } = setup(t)
  const ended = client.connect()
  network.last().end(4001)
  await t.rejects(ended, { name: 'NotLoggedInError' }, 'a 4001 before the welcome: not logged in')
  const closed = client.connect()
  client.disconnect()
  await t.rejects(closed, { name: 'ClosedError' }, 'disconnect() before the welcome')
  const welcomed = client.connect()
  network.last().welcome()
  await t.resolves(welcomed)
})
