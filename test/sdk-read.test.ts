import t, { type Test } from 'tap'
import { ChatClient, FrameError } from '../client/src/index.js'
import { startCluster } from './helpers/cluster.js'
import { FakeClock, fakeSockets, settle } from './helpers/fake-network.js'
import { newUsername } from './helpers/http-client.js'
import { sdkClient } from './helpers/sdk.js'
import { until } from './helpers/waiting.js'

/**
 * The SDK's markRead: a `read` frame while the socket is open, REST otherwise. Against two real
 * nodes, with two devices of one user; and on a fake network, where the reply is lost or refused.
 */

const PASSWORD = 'correct horse battery'
const nodes = await startCluster(t, 'sdk_read', 2)
const [a, b] = nodes.map((n) => n.url) as [string, string]

/** A client whose REST calls to a read marker are counted. */
function counted(t: Test, url: string) {
  const restReads: string[] = []
  const client = sdkClient(t, [url], {
    fetch: (input, init) => {
      const path = new URL(String(input)).pathname
      if (path.endsWith('/read')) restReads.push(path)
      return fetch(input, init)
    },
  })
  return Object.assign(client, { restReads })
}

t.test('markRead goes over the socket while it is open: the same marker, notices on the other device and receipts, no REST call', async (t) => {
  const reader = counted(t, a)
  const name = newUsername('sdkreader')
  await reader.register(name, PASSWORD)
  await reader.connect()
  const phone = counted(t, b)
  await phone.login(name, PASSWORD)
  await phone.connect()
  const writer = sdkClient(t, [b])
  await writer.register(newUsername('sdkwriter'), PASSWORD)
  await writer.connect()
  const { conversationId } = await writer.api.openDirect(name)
  for (const text of ['one', 'two', 'three']) await writer.api.postMessage(conversationId, text)

  const notices: unknown[] = []
  phone.on('read', (notice) => notices.push(notice))
  const receipts: unknown[] = []
  writer.on('receipt', (receipt) => receipts.push(receipt))
  t.same(await reader.markRead(conversationId, 2), { status: 'success', seq: 2, unread: 1, mentions: 0 }, 'the marker as REST would answer it')
  t.same(reader.restReads, [], 'and no REST call was made')
  t.ok(await until(() => notices.length === 1, 'the read notice on the other device'))
  t.same(notices, [{ type: 'read', conversationId, seq: 2, unread: 1, mentions: 0 }], 'the other device, on the other node, hears of it')
  t.ok(await until(() => receipts.length === 1, 'the receipt'))
  t.same(receipts, [{ type: 'receipt', conversationId, user: name, seq: 2 }])
  t.same(await phone.markRead(conversationId, 1), { status: 'success', seq: 2, unread: 1, mentions: 0 }, 'never backwards')

  const open = await writer.api.createConversation({ title: 'not joined' })
  const refused = await reader.markRead(open, 0).catch((err: unknown) => err)
  t.ok(refused instanceof FrameError && refused.code === 'forbidden', 'not a member: the frame is refused as the route would be')

  reader.disconnect()
  t.same(await reader.markRead(conversationId, 99), { status: 'success', seq: 3, unread: 0, mentions: 0 }, 'with the socket closed')
  t.same(reader.restReads, [`/api/conversations/${conversationId}/read`], 'it goes over REST')
})

t.test('a read frame whose reply is lost, late or refused for a while is moved over REST', async (t) => {
  const clock = new FakeClock()
  const network = fakeSockets()
  const restReads: { path: string; body: unknown }[] = []
  const client = new ChatClient({
    urls: ['http://node-a.test'],
    createWebSocket: network.factory,
    clock,
    random: () => 0.999999,
    backoff: { initialMs: 100, maxMs: 1000 },
    ackTimeoutMs: 5_000,
    fetch: async (input, init) => {
      restReads.push({ path: new URL(String(input)).pathname, body: JSON.parse(String(init?.body)) })
      return new Response(JSON.stringify({ status: 'success', seq: 4, unread: 0, mentions: 0 }), { headers: { 'content-type': 'application/json' } })
    },
  })
  t.teardown(() => client.close())
  const connected = client.connect()
  network.last().welcome()
  await connected

  const lost = client.markRead(7, 4)
  t.match(network.last().sentOf('read'), [{ type: 'read', conversationId: 7, seq: 4, id: String }], 'a read frame goes out')
  network.last().end(1006)
  t.same(await lost, { status: 'success', seq: 4, unread: 0, mentions: 0 }, 'the socket was lost before the reply: REST moves it')
  t.same(restReads, [{ path: '/api/conversations/7/read', body: { seq: 4 } }])

  await clock.advance(1000)
  network.last().welcome()
  const late = client.markRead(8, 2)
  await settle()
  await clock.advance(5_000)
  await late
  t.same(restReads.map((r) => r.path), ['/api/conversations/7/read', '/api/conversations/8/read'], 'no reply in time: REST')

  const busy = client.markRead(9, 1)
  const [frame] = network.last().sentOf('read').slice(-1)
  network.last().receive({ type: 'error', id: frame?.id, code: 'overloaded', message: 'try again' })
  await busy
  t.equal(restReads.length, 3, 'a refusal worth retrying: REST')

  const answered = client.markRead(10, 6)
  const [last] = network.last().sentOf('read').slice(-1)
  network.last().receive({ type: 'marked', id: last?.id, conversationId: 10, seq: 6, unread: 2, mentions: 1 })
  t.same(await answered, { status: 'success', seq: 6, unread: 2, mentions: 1 }, 'the reply answers it')
  await clock.advance(10_000)
  t.equal(restReads.length, 3, 'and nothing more goes over REST')

  const framesSent = network.last().sentOf('read').length
  client.disconnect()
  await client.markRead(11, 1)
  t.equal(restReads.length, 4, 'without a socket, REST at once')
  t.equal(network.last().sentOf('read').length, framesSent, 'and no frame')
})

t.test('a client whose socket is not logged in marks read over REST (a read frame would close the socket)', async (t) => {
  const clock = new FakeClock()
  const network = fakeSockets()
  let restCalls = 0
  const client = new ChatClient({
    urls: ['http://node-a.test'],
    createWebSocket: network.factory,
    clock,
    fetch: async () => {
      restCalls++
      return new Response(JSON.stringify({ status: 'unauthorised' }), { status: 401, headers: { 'content-type': 'application/json' } })
    },
  })
  t.teardown(() => client.close())
  const connected = client.connect()
  network.last().welcome(null)
  await connected
  await client.markRead(3, 1).catch(() => {})
  t.equal(network.last().sentOf('read').length, 0, 'no read frame')
  t.equal(restCalls > 0, true, 'REST instead')
})
