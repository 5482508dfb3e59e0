import pg from 'pg'
import t from 'tap'
import { type ChatClient, type ChatEvent, type ClientEvents, ApiError } from '../client/src/index.js'
import { startCluster } from './helpers/cluster.js'
import { newUsername } from './helpers/http-client.js'
import { sdkClient } from './helpers/sdk.js'
import { until } from './helpers/waiting.js'

/**
 * The SDK against 3 real nodes: several devices of two users on different nodes, sessions that end,
 * resumes that page, and a node killed under a client that is posting.
 */

const PASSWORD = 'correct horse battery'
/** Small resume pages, so that a client far behind pages through complete: false. */
const RESUME_LIMIT = 5

const cluster = await startCluster(t, 'sdk-cluster', 3, { RESUME_LIMIT: String(RESUME_LIMIT) })
const urls = cluster.map((node) => node.url)

/** Everything a client emits of some types, in order. */
function record<K extends keyof ClientEvents>(client: ChatClient, ...types: K[]): ClientEvents[K][] {
  const seen: ClientEvents[K][] = []
  for (const type of types) client.on(type, (event) => seen.push(event))
  return seen
}

const seqsOf = (events: ChatEvent[], conversationId: number) => events.filter((e) => e.conversationId === conversationId).map((e) => e.seq)

t.test('two users, three devices on three nodes: each event, notice and signal reaches every device once', async (t) => {
  const aliceName = newUsername('alice')
  const bobName = newUsername('bob')
  const alice = sdkClient(t, urls, { firstUrl: 0 })
  await alice.register(aliceName, PASSWORD)
  const alicePhone = sdkClient(t, urls, { firstUrl: 1, auth: 'tokens' })
  await alicePhone.login(aliceName, PASSWORD)
  const bob = sdkClient(t, urls, { firstUrl: 2 })
  await bob.register(bobName)

  await Promise.all([alice.connect(), alicePhone.connect()])
  const added = record(alicePhone, 'conversation.added')
  const presence = record(alice, 'presence')
  const { conversationId, created } = await alice.api.openDirect(bobName)
  t.ok(created, 'a direct conversation was started')
  await until(() => added.length === 1, "the started conversation on alice's other device")
  t.match(added[0], { conversationId, by: aliceName })
  await bob.connect()
  await until(() => presence.some((p) => p.user === bobName && p.online), 'bob online, told to his contact')
  t.equal(alice.isOnline(bobName), true)

  const devices = { alice, alicePhone, bob }
  const events = Object.fromEntries(Object.entries(devices).map(([name, client]) => [name, record(client, 'event')])) as Record<keyof typeof devices, ChatEvent[]>
  for (const client of Object.values(devices)) await client.subscribe(conversationId, { afterSeq: 0 })

  const iterated: number[] = []
  const stop = new AbortController()
  const reading = (async () => {
    for await (const event of bob.stream('message.created', { signal: stop.signal })) iterated.push(event.seq)
  })()

  const typing = record(alicePhone, 'typing')
  bob.typing(conversationId)
  bob.typing(conversationId)
  await until(() => typing.length === 1, 'a typing signal on alice phone')
  t.match(typing[0], { conversationId, user: bobName, expiresInMs: 6000 })

  const first = await bob.send(conversationId, 'hi alice')
  const second = await alicePhone.send(conversationId, 'hi bob, a typo')
  await alice.api.editMessage(conversationId, second.seq, 'hi bob')
  const third = await alice.send(conversationId, 'to be deleted')
  await alice.api.deleteMessage(conversationId, third.seq)
  const last = 5
  for (const [name, seen] of Object.entries(events)) await until(() => seqsOf(seen, conversationId).length === last, `${name} to see ${last} events`)
  for (const [name, seen] of Object.entries(events)) {
    t.same(seqsOf(seen, conversationId), [1, 2, 3, 4, 5], `${name}: each event once, in order`)
    t.same(
      seen.map((e) => e.type),
      ['message.created', 'message.created', 'message.edited', 'message.created', 'message.deleted'],
      `${name}: created, edited and deleted`,
    )
  }
  t.match(events.bob[2], { type: 'message.edited', messageSeq: second.seq, text: 'hi bob' })
  t.match(first, { seq: 1, message: { user: bobName, text: 'hi alice' } })

  const reads = record(alicePhone, 'read')
  const receipts = record(bob, 'receipt')
  const marker = await alice.markRead(conversationId, last)
  t.match(marker, { seq: last, unread: 0 })
  await until(() => reads.length === 1 && receipts.length === 1, "the read marker on alice's phone and the receipt on bob's")
  t.match(reads[0], { conversationId, seq: last, unread: 0 })
  t.match(receipts[0], { conversationId, user: aliceName, seq: last })

  await until(() => iterated.length === 3, 'the async iterator to see the 3 messages')
  stop.abort()
  await reading
  t.same(iterated, [1, 2, 4], 'the async iterator yields message.created events in order')

  const inbox = await bob.api.inbox()
  t.match(inbox.conversations[0], { id: conversationId, kind: 'direct', title: aliceName, user: { username: aliceName, online: true } })
})

t.test('a client far behind pages through complete: false to the end, each event once', async (t) => {
  const owner = sdkClient(t, urls, { firstUrl: 0 })
  await owner.register(newUsername('owner'))
  const conversationId = await owner.api.createConversation({ title: 'long history' })
  for (let i = 1; i <= 23; i++) await owner.api.postMessage(conversationId, `message ${i}`)
  const reader = sdkClient(t, urls, { firstUrl: 1 })
  await reader.register(newUsername('reader'))
  const diagnostics = record(reader, 'diagnostic')
  const events = record(reader, 'event')
  await reader.connect()
  t.equal(await reader.subscribe(conversationId, { afterSeq: 0 }), 23)
  t.same(seqsOf(events, conversationId), Array.from({ length: 23 }, (_, i) => i + 1))
  t.equal(diagnostics.filter((d) => d.type === 'incomplete-resume').length, Math.floor(23 / RESUME_LIMIT), 'one more subscribe per full page')
})

t.test('sessions: an ended session is reported; a refresh token renews a refused access token', async (t) => {
  const name = newUsername('dana')
  const laptop = sdkClient(t, urls, { firstUrl: 0 })
  await laptop.register(name, PASSWORD)
  const phone = sdkClient(t, urls, { firstUrl: 1, auth: 'tokens' })
  await phone.login(name, PASSWORD)
  const admin = sdkClient(t, urls, { firstUrl: 2 })
  await admin.login(name, PASSWORD)
  await Promise.all([laptop.connect(), phone.connect()])
  const laptopEnded = new Promise((resolve) => laptop.once('session.ended', resolve))
  const phoneEnded = new Promise((resolve) => phone.once('session.ended', resolve))

  const sessions = await admin.api.sessions()
  const others = sessions.filter((session) => !session.current)
  t.equal(others.length, 2, 'the laptop and the phone')
  for (const session of others) await admin.api.endSession(session.id)
  await laptopEnded
  await phoneEnded
  t.equal(laptop.state, 'closed', 'a cookie session that ended does not reconnect')
  t.equal(phone.state, 'closed', 'nor does a token family whose refresh token is refused')
  const refused = await phone.send(1, 'too late').catch((err: unknown) => err)
  t.equal((refused as Error).name, 'NotLoggedInError')

  // Revoking the refresh token ends its family: the socket closes with 4001, and nothing renews it.
  const watch = sdkClient(t, urls, { firstUrl: 2, auth: 'tokens' })
  await watch.login(name, PASSWORD)
  await watch.connect()
  const watchEnded = new Promise((resolve) => watch.once('session.ended', resolve))
  await watch.api.revokeRefreshToken(watch.tokens!.refreshToken)
  await watchEnded
  t.equal(watch.state, 'closed', 'a revoked family ends its socket for good')

  // Tokens kept from an earlier run, whose access token the server refuses: the refresh token renews
  // it behind the request, which is retried; the socket opens with the new one.
  const earlier = sdkClient(t, urls, { firstUrl: 0, auth: 'tokens' })
  await earlier.login(name, PASSWORD)
  const kept = earlier.tokens!
  earlier.close()
  const restarted = sdkClient(t, urls, { firstUrl: 1, auth: 'tokens', tokens: { ...kept, accessToken: 'not.a.token' } })
  t.match(await restarted.api.me(), { username: name })
  t.not(restarted.tokens?.refreshToken, kept.refreshToken, 'renewed: a new refresh token too')
  await restarted.connect()
  t.equal(restarted.user, name)

  // A refresh token used twice was copied: the server ends the family, and the client says so.
  const copy = sdkClient(t, urls, { firstUrl: 2, auth: 'tokens', tokens: { ...kept, accessToken: 'not.a.token' } })
  const error = await copy.api.me().catch((err: unknown) => err)
  t.ok(error instanceof ApiError && error.status === 401, 'refused')
  t.equal(copy.tokens, undefined, 'the copy forgets its tokens')
})

t.test('a node killed under a client that posts and reads: it reconnects elsewhere, each message stored and seen once', async (t) => {
  const writer = sdkClient(t, urls, { firstUrl: 0 })
  await writer.register(newUsername('writer'))
  const reader = sdkClient(t, urls, { firstUrl: 0 })
  await reader.register(newUsername('reader'))
  const conversationId = await writer.api.createConversation({ title: 'under fire' })
  await Promise.all([writer.connect(), reader.connect()])
  const events = record(reader, 'event')
  await reader.subscribe(conversationId, { afterSeq: 0 })
  const states = record(reader, 'state')

  const count = 60
  const sends = Array.from({ length: count }, (_, i) => writer.send(conversationId, `message ${i + 1}`, { id: `kill-${i + 1}` }))
  await until(() => events.length >= 10, 'some messages before the kill')
  cluster[0]!.child.kill('SIGKILL')
  const acks = await Promise.all(sends)
  t.same(
    acks.map((ack) => ack.seq),
    Array.from({ length: count }, (_, i) => i + 1),
    'every send acknowledged once, in the order sent',
  )
  await until(() => seqsOf(events, conversationId).length === count, 'the reader to see every message', 30_000)
  t.same(seqsOf(events, conversationId), Array.from({ length: count }, (_, i) => i + 1), 'each once, in order')
  t.ok(states.some((s) => s.state === 'reconnecting'), 'the reader went through reconnecting')

  const db = new pg.Client({ connectionString: cluster.databaseUrl })
  await db.connect()
  t.teardown(() => db.end())
  const stored = await db.query('SELECT count(*)::int AS n, count(DISTINCT client_msg_id)::int AS ids FROM messages WHERE conversation_id = $1', [conversationId])
  t.same(stored.rows[0], { n: count, ids: count }, 'stored once each')
})
