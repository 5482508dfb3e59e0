import t from 'tap'
import { startCluster } from './helpers/cluster.js'
import { newUsername, register, request, unreadDirect } from './helpers/http-client.js'
import { TestSocket } from './helpers/ws-client.js'

/** The `read` frame moves the read marker as POST /api/conversations/:id/read does, across nodes and devices. */

const PASSWORD = 'correct horse battery'
const nodes = await startCluster(t, 'read_frames', 3)
const [a, b, c] = nodes.map((n) => n.url) as [string, string, string]
const idOf = (url: string) => Number(url.split('/').pop())

async function connected(url: string, cookie: string): Promise<TestSocket> {
  const socket = await TestSocket.connect(url, cookie)
  t.teardown(() => socket.close())
  return socket
}

/** Every frame the socket was sent before this call: the server answers a ping after them. */
async function settled(socket: TestSocket): Promise<any[]> {
  await socket.call({ type: 'ping', id: `settle${Math.random()}` })
  return socket.frames
}

t.test('a read frame moves the marker, forward only, with the same notices and receipts as REST, on every node', async (t) => {
  const { reader, writer, id, phone } = await unreadDirect(a, b, PASSWORD)
  const laptop = await connected(a, reader.cookie)
  const handset = await connected(b, phone)
  const writerSocket = await connected(c, writer.cookie)

  const marked = await laptop.call({ type: 'read', id: 'r1', conversationId: id, seq: 2 })
  t.same(marked, { type: 'marked', id: 'r1', conversationId: id, seq: 2, unread: 1, mentions: 0 }, 'the reply: the marker as it now is')
  for (const device of [laptop, handset])
    t.same(await device.waitFor((f) => f.type === 'read', 'read notice'), { type: 'read', conversationId: id, seq: 2, unread: 1, mentions: 0 }, 'every device of the user, on either node')
  t.same(await writerSocket.waitFor((f) => f.type === 'receipt', 'receipt'), { type: 'receipt', conversationId: id, user: reader.username, seq: 2 }, 'a receipt to the other user')

  const back = await handset.call({ type: 'read', id: 'r2', conversationId: id, seq: 1 })
  t.same(back, { type: 'marked', id: 'r2', conversationId: id, seq: 2, unread: 1, mentions: 0 }, 'never backwards')
  t.equal((await settled(laptop)).filter((f) => f.type === 'read').length, 1, 'and a marker that did not move tells nobody')
  t.equal((await settled(writerSocket)).filter((f) => f.type === 'receipt').length, 1)

  const past = await handset.call({ type: 'read', id: 'r3', conversationId: id, seq: 999 })
  t.same(past, { type: 'marked', id: 'r3', conversationId: id, seq: 3, unread: 0, mentions: 0 }, 'a seq past the end means the end')
  t.same(await laptop.waitFor((f) => f.type === 'read' && f.seq === 3, 'second read notice'), { type: 'read', conversationId: id, seq: 3, unread: 0, mentions: 0 })
  const inbox = await request(a, 'GET', '/api/inbox', { cookie: reader.cookie })
  t.match(inbox.body.conversations.find((c: any) => c.id === id), { readSeq: 3, unread: 0, mentions: 0 }, 'REST sees the same marker')
  const rest = await request(a, 'POST', `/api/conversations/${id}/read`, { cookie: reader.cookie, body: { seq: 1 } })
  t.same(rest.body, { status: 'success', seq: 3, unread: 0, mentions: 0 }, 'the same marker as the REST route moves')
  const noId = await handset.call({ type: 'ping', id: 'before' }).then(() => {
    handset.send({ type: 'read', conversationId: id, seq: 3 })
    return handset.waitFor((f) => f.type === 'marked' && f.id === undefined, 'marked without an id')
  })
  t.same(noId, { type: 'marked', conversationId: id, seq: 3, unread: 0, mentions: 0 }, 'the id is optional')
})

t.test('read frames keep the REST rules: members only, invisible conversations are not found, bad frames are bad_frame', async (t) => {
  const owner = await register(a, newUsername('owner'))
  const stranger = await register(b, newUsername('stranger'))
  const open = await request(a, 'POST', '/api/conversations', { cookie: owner.cookie, body: { title: 'open' } })
  const secret = await request(a, 'POST', '/api/conversations', { cookie: owner.cookie, body: { title: 'secret', kind: 'private' } })
  const socket = await connected(b, stranger.cookie)

  t.match(await socket.call({ type: 'read', id: 'o', conversationId: idOf(open.body.url), seq: 0 }), { type: 'error', id: 'o', code: 'forbidden' }, 'an open conversation not joined: forbidden, like REST 403')
  t.match(await socket.call({ type: 'read', id: 'p', conversationId: idOf(secret.body.url), seq: 0 }), { type: 'error', id: 'p', code: 'not_found' }, "someone else's private conversation: not_found, like REST 404")
  t.match(await socket.call({ type: 'read', id: 'n', conversationId: 987654321, seq: 0 }), { type: 'error', id: 'n', code: 'not_found' }, 'no such conversation')
  const bad: [string, object][] = [
    ['a negative seq', { seq: -1, conversationId: 1 }],
    ['a fractional seq', { seq: 1.5, conversationId: 1 }],
    ['a seq as text', { seq: '3', conversationId: 1 }],
    ['no seq', { conversationId: 1 }],
    ['no conversation', { seq: 1 }],
    ['conversation 0', { seq: 1, conversationId: 0 }],
    ['an unknown field', { seq: 1, conversationId: 1, upTo: 2 }],
  ]
  for (const [what, fields] of bad)
    t.match(await socket.call({ type: 'read', id: what, ...fields }), { type: 'error', id: what, code: 'bad_frame', message: 'invalid read frame' }, what)
  t.equal((await request(a, 'GET', open.body.url, { cookie: owner.cookie })).status, 200, 'the node is fine')

  const joined = await request(b, 'POST', `${open.body.url}/join`, { cookie: stranger.cookie })
  t.equal(joined.status, 201)
  t.match(await socket.call({ type: 'read', id: 'j', conversationId: idOf(open.body.url), seq: 5 }), { type: 'marked', id: 'j', seq: 1, unread: 0, mentions: 0 }, 'once a member (the join is seq 1)')
})

t.test('a socket that is not logged in is closed with 4003 when it marks read', async (t) => {
  const anonymous = await TestSocket.open(b)
  await anonymous.waitFor((f) => f.type === 'welcome', 'welcome')
  anonymous.send({ type: 'read', id: 'x', conversationId: 1, seq: 1 })
  t.match(await anonymous.waitForClose(), { code: 4003 })
})
