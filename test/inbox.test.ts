import t from 'tap'
import { startCluster } from './helpers/cluster.js'
import { login, newUsername, postMessage, register, request, unreadDirect } from './helpers/http-client.js'
import { TestSocket } from './helpers/ws-client.js'

const PASSWORD = 'correct horse battery'
const nodes = await startCluster(t, 'inbox', 2)
const [a, b] = nodes.map((n) => n.url) as [string, string]

const inbox = async (node: string, cookie: string, query = '') => {
  const res = await request(node, 'GET', `/api/inbox${query}`, { cookie })
  if (res.status !== 200) throw new Error(`inbox: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body
}
const idOf = (url: string) => Number(url.split('/').pop())

t.test('direct conversations: found or started by username, one per pair', async (t) => {
  const ann = await register(a, newUsername('ann'))
  const ben = await register(b, newUsername('ben'))
  const third = await register(a, newUsername('third'))
  const benDevices = [await TestSocket.connect(a, ben.cookie), await TestSocket.connect(b, ben.cookie)]
  t.teardown(() => benDevices.forEach((d) => d.close()))

  t.equal((await request(a, 'GET', `/api/direct/${ben.username}`, { cookie: ann.cookie })).status, 404, 'none yet')
  const started = await request(a, 'POST', `/api/direct/${ben.username}`, { cookie: ann.cookie })
  t.equal(started.status, 201)
  t.equal(started.headers.get('location'), started.body.url)
  const again = await request(b, 'POST', `/api/direct/${ann.username.toUpperCase()}`, { cookie: ben.cookie })
  t.same([again.status, again.body.url], [200, started.body.url], 'the other user, any letter case, finds the same one')
  const found = await request(b, 'GET', `/api/direct/${ann.username}`, { cookie: ben.cookie })
  t.same(found.body, { status: 'success', url: started.body.url, user: ann.username })
  for (const device of benDevices) {
    t.match(await device.waitFor((f) => f.type === 'conversation.added', 'added'), { conversationId: idOf(started.body.url), by: ann.username })
  }
  t.equal((await request(a, 'GET', started.body.url, { cookie: third.cookie })).status, 404, 'a third user cannot see it')
  t.equal((await request(a, 'POST', `/api/conversations/${idOf(started.body.url)}/members`, { cookie: ann.cookie, body: { username: third.username } })).status, 400, 'nor be added')
  t.equal((await request(a, 'POST', `/api/direct/${ann.username}`, { cookie: ann.cookie })).status, 400, 'not with oneself')
  t.equal((await request(a, 'POST', '/api/direct/nobody-at-all', { cookie: ann.cookie })).status, 404, 'not with nobody')
  const list = await request(a, 'GET', '/api/conversations', { cookie: ann.cookie })
  t.match(list.body.conversations.find((c: any) => c.url === started.body.url), { title: ben.username }, "listed under the other user's name")
})

t.test('the inbox: latest activity first, latest message, unread counts, paging', async (t) => {
  const me = await register(a, newUsername('me'))
  const friend = await register(b, newUsername('friend'))
  const group = await request(a, 'POST', '/api/conversations', { cookie: me.cookie, body: { title: 'group', kind: 'private', members: [friend.username] } })
  const direct = await request(b, 'POST', `/api/direct/${me.username}`, { cookie: friend.cookie })
  const quiet = await request(a, 'POST', '/api/conversations', { cookie: me.cookie, body: { title: 'quiet' } })
  await postMessage(b, friend.cookie, idOf(group.body.url), 'one')
  await postMessage(a, me.cookie, idOf(group.body.url), 'mine')
  await postMessage(b, friend.cookie, idOf(group.body.url), 'two')
  await postMessage(b, friend.cookie, idOf(direct.body.url), 'psst')

  const page = await inbox(b, me.cookie)
  t.same(
    page.conversations.map((c: any) => [c.url, c.kind, c.title, c.unread, c.lastMessage?.text ?? null]),
    [
      [direct.body.url, 'direct', friend.username, 1, 'psst'],
      [group.body.url, 'private', 'group', 2, 'two'],
      [quiet.body.url, 'open', 'quiet', 0, null],
    ],
    'most recent first; own posts are never unread',
  )
  t.match(page.conversations[0].user, { username: friend.username, online: false })
  t.equal(page.conversations[1].user, null)
  t.equal(page.next, null)

  const first = await inbox(a, me.cookie, '?limit=2')
  t.equal(first.conversations.length, 2)
  const rest = await inbox(b, me.cookie, `?limit=2&cursor=${first.next}`)
  t.same(rest.conversations.map((c: any) => c.url), [quiet.body.url], 'the next page goes on where the first stopped')
  for (const bad of ['?cursor=nonsense', `?cursor=${Buffer.from('["x",1]').toString('base64url')}`, '?limit=0', '?limit=101'])
    t.equal((await request(a, 'GET', `/api/inbox${bad}`, { cookie: me.cookie })).status, 400, bad)
  t.equal((await request(a, 'GET', '/api/inbox')).status, 401)
})

t.test('read markers: forward only, on every device, with receipts in direct conversations', async (t) => {
  const { reader, writer, id, phone } = await unreadDirect(a, b, PASSWORD)
  const readerDevices = [await TestSocket.connect(a, reader.cookie), await TestSocket.connect(b, phone)]
  const writerSocket = await TestSocket.connect(a, writer.cookie)
  t.teardown(() => [...readerDevices, writerSocket].forEach((s) => s.close()))

  const read = await request(a, 'POST', `/api/conversations/${id}/read`, { cookie: reader.cookie, body: { seq: 2 } })
  t.same(read.body, { status: 'success', seq: 2, unread: 1, mentions: 0 })
  for (const device of readerDevices) t.same(await device.waitFor((f) => f.type === 'read', 'read'), { type: 'read', conversationId: id, seq: 2, unread: 1, mentions: 0 })
  t.same(await writerSocket.waitFor((f) => f.type === 'receipt', 'receipt'), { type: 'receipt', conversationId: id, user: reader.username, seq: 2 })

  const back = await request(b, 'POST', `/api/conversations/${id}/read`, { cookie: phone, body: { seq: 1 } })
  t.same(back.body, { status: 'success', seq: 2, unread: 1, mentions: 0 }, 'never backwards')
  const past = await request(b, 'POST', `/api/conversations/${id}/read`, { cookie: phone, body: { seq: 999 } })
  t.same(past.body, { status: 'success', seq: 3, unread: 0, mentions: 0 }, 'a seq past the end means the end')
  t.match((await inbox(a, reader.cookie)).conversations[0], { readSeq: 3, unread: 0 })
  const open = await request(a, 'POST', '/api/conversations', { cookie: writer.cookie, body: { title: 'open' } })
  t.equal((await request(a, 'POST', `${open.body.url}/read`, { cookie: reader.cookie, body: { seq: 0 } })).status, 403, 'only members have a marker')
})

t.test('unread counts stay right under concurrent posts and reads from two devices', async (t) => {
  const reader = await register(a, newUsername('busy'), PASSWORD)
  const poster = await register(b, newUsername('poster'))
  const { body } = await request(a, 'POST', '/api/conversations', { cookie: reader.cookie, body: { title: 'busy', kind: 'private', members: [poster.username] } })
  const id = idOf(body.url)
  const phone = await login(b, reader.username, PASSWORD)
  const posts = Array.from({ length: 30 }, (_, i) => postMessage(i % 2 ? a : b, poster.cookie, id, `p${i}`))
  const reads = Array.from({ length: 20 }, (_, i) =>
    request(i % 2 ? a : b, 'POST', `/api/conversations/${id}/read`, { cookie: i % 2 ? reader.cookie : phone, body: { seq: i + 1 } }),
  )
  const results = await Promise.all([...posts, ...reads])
  t.ok(results.every((r) => r.status === 200 || r.status === 201), 'every request succeeded')
  const markers = results.slice(30).map((r) => r.body.seq)
  const entry = (await inbox(a, reader.cookie)).conversations.find((c: any) => c.id === id)
  t.equal(entry.readSeq, Math.max(...markers), 'the marker is the furthest any device read')
  const lastSeq = entry.lastSeq
  // Seq 1 is the member.added event; every other seq is a post by the other user.
  t.equal(entry.unread, lastSeq - Math.max(entry.readSeq, 1), 'unread is every post after the marker')
  const done = await request(b, 'POST', `/api/conversations/${id}/read`, { cookie: phone, body: { seq: lastSeq } })
  t.equal(done.body.unread, 0)
})

t.test('delete chat hides a conversation until a new message arrives', async (t) => {
  const hider = await register(a, newUsername('hider'))
  const pal = await register(b, newUsername('pal'))
  const direct = await request(b, 'POST', `/api/direct/${hider.username}`, { cookie: pal.cookie })
  await postMessage(b, pal.cookie, idOf(direct.body.url), 'hello')
  const device = await TestSocket.connect(b, hider.cookie)
  t.teardown(() => device.close())
  t.equal((await request(a, 'POST', `${direct.body.url}/hide`, { cookie: hider.cookie })).status, 200)
  t.same(await device.waitFor((f) => f.type === 'conversation.hidden', 'hidden'), { type: 'conversation.hidden', conversationId: idOf(direct.body.url) })
  t.notOk((await inbox(a, hider.cookie)).conversations.some((c: any) => c.url === direct.body.url), 'gone from the inbox')
  t.ok((await inbox(a, pal.cookie)).conversations.some((c: any) => c.url === direct.body.url), 'but not from the other user’s')
  await postMessage(a, pal.cookie, idOf(direct.body.url), 'are you there?')
  const back = (await inbox(b, hider.cookie)).conversations.find((c: any) => c.url === direct.body.url)
  t.match(back, { lastMessage: { text: 'are you there?' } }, 'back with the new message')
})

t.test('the inbox is paged to the end: a full last page says next: null', async (t) => {
  const me = await register(a, newUsername('ipager'))
  for (const title of ['one', 'two', 'three']) await request(a, 'POST', '/api/conversations', { cookie: me.cookie, body: { title } })
  const whole = await inbox(b, me.cookie, '?limit=3')
  t.same([whole.conversations.length, whole.next], [3, null], 'exactly one full page')
  const first = await inbox(a, me.cookie, '?limit=2')
  t.equal(first.conversations.length, 2)
  t.type(first.next, 'string', 'more follow the first page')
  const last = await inbox(b, me.cookie, `?limit=1&cursor=${first.next}`)
  t.same([last.conversations.map((c: any) => c.title), last.next], [['one'], null], 'the full last page ends the listing')
})
