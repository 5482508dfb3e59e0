import t from 'tap'
import { startCluster } from './helpers/cluster.js'
import { type Reply, login, newUsername, postMessage, register, request } from './helpers/http-client.js'
import { TestSocket } from './helpers/ws-client.js'

const PASSWORD = 'correct horse battery'
const nodes = await startCluster(t, 'kinds', 2)
const [a, b] = nodes.map((n) => n.url) as [string, string]
const owner = await register(a, newUsername('owner'), PASSWORD)
const member = await register(a, newUsername('member'), PASSWORD)
const stranger = await register(b, newUsername('stranger'))

async function create(body: object): Promise<{ id: number; url: string }> {
  const res = await request(a, 'POST', '/api/conversations', { cookie: owner.cookie, body })
  if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`)
  return { id: Number(res.body.url.split('/').pop()), url: res.body.url }
}

const statusOf = (reply: Reply) => reply.status

t.test('a private conversation exists only for its members', async (t) => {
  const { id, url } = await create({ title: 'secret plans', kind: 'private', members: [member.username] })
  const posted = await postMessage(b, member.cookie, id, 'members only')
  t.equal(posted.status, 201, 'a member posts, on the other node')
  const edit = { text: 'edited' }
  const denied: [string, string, object?][] = [
    ['GET', url],
    ['GET', `${url}?before=5`],
    ['POST', url, { text: 'let me in' }],
    ['GET', posted.body.url],
    ['PATCH', posted.body.url, edit],
    ['DELETE', posted.body.url],
    ['GET', `${url}/members`],
    ['POST', `${url}/members`, { username: stranger.username }],
    ['POST', `${url}/join`],
    ['POST', `${url}/leave`],
    ['POST', `${url}/read`, { seq: 1 }],
    ['POST', `${url}/hide`],
  ]
  for (const [method, path, body] of denied) {
    const res = await request(b, method, path, { cookie: stranger.cookie, body })
    t.same([res.status, res.body], [404, { status: 'not found' }], `a non-member's ${method} ${path}`)
  }
  for (const node of [a, b]) {
    const list = await request(node, 'GET', '/api/conversations', { cookie: stranger.cookie })
    t.notOk(list.body.conversations.some((c: any) => c.url === url), 'not in a non-member’s list')
    const mine = await request(node, 'GET', '/api/conversations', { cookie: member.cookie })
    t.ok(mine.body.conversations.some((c: any) => c.url === url), 'in a member’s list')
  }
  t.equal(statusOf(await request(a, 'GET', url)), 401, 'someone not logged in is asked to log in')

  const socket = await TestSocket.connect(b, stranger.cookie)
  t.teardown(() => socket.close())
  for (const afterSeq of [undefined, 0]) {
    const reply = await socket.call({ type: 'subscribe', id: `s${afterSeq}`, conversationId: id, afterSeq })
    t.match(reply, { type: 'error', code: 'not_found' }, `subscribing${afterSeq === undefined ? '' : ' and resuming'} is refused`)
  }
  const send = await socket.call({ type: 'send', id: 'p1', conversationId: id, text: 'hello?' })
  t.match(send, { type: 'error', code: 'not_found' }, 'posting over the socket is refused')
  const read = await request(a, 'GET', `${url}?N=100`, { cookie: member.cookie })
  t.same(read.body.messages.map((m: any) => m.text), ['members only'], 'nothing a non-member tried was stored')
})

t.test('a public conversation: anyone reads and watches, members post', async (t) => {
  const { id, url } = await create({ title: 'announcements', kind: 'public', members: [member.username] })
  const first = await postMessage(a, owner.cookie, id, 'welcome')
  t.equal(first.status, 201)
  const anonymousRead = await request(b, 'GET', url)
  t.equal(anonymousRead.status, 200, 'read without logging in')
  t.same(anonymousRead.body.messages.map((m: any) => m.text), ['welcome'])
  t.equal(statusOf(await request(b, 'GET', first.body.url)), 200, 'a message without logging in')
  t.equal(statusOf(await request(b, 'GET', url, { cookie: 'sid=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })), 401, 'a bad cookie is still refused')

  const refused = await postMessage(b, stranger.cookie, id, 'me too')
  t.same([refused.status, refused.body], [403, { status: 'unauthorised' }], 'a non-member who is logged in may read but not post')
  t.equal(statusOf(await request(b, 'POST', `${url}/join`, { cookie: stranger.cookie })), 403, 'nor join by themselves')

  const watcher = await TestSocket.open(b, { origin: 'https://anywhere.example' })
  t.teardown(() => watcher.close())
  await watcher.waitFor((f) => f.type === 'welcome', 'welcome')
  t.match(await watcher.call({ type: 'subscribe', id: 'w', conversationId: id, afterSeq: 0 }), { type: 'subscribed', lastSeq: 2 })
  t.equal(statusOf(await postMessage(a, member.cookie, id, 'from a member')), 201)
  const events = await watcher.waitForEvents(3)
  t.same(
    events.map((e) => [e.seq, e.type, e.message?.text ?? e.user]),
    [
      [1, 'member.added', member.username],
      [2, 'message.created', 'welcome'],
      [3, 'message.created', 'from a member'],
    ],
    'history, then live, on the other node',
  )

  const privateOne = await create({ title: 'not for watchers', kind: 'private' })
  t.match(await watcher.call({ type: 'subscribe', id: 'p', conversationId: privateOne.id }), { type: 'error', code: 'unauthorised' })
  watcher.send({ type: 'send', id: 'x', conversationId: id, text: 'anonymous words' })
  t.same(await watcher.waitForClose(), { code: 4003, reason: 'log in to post' }, 'an anonymous post closes the socket')
  const after = await request(a, 'GET', url, { cookie: owner.cookie })
  t.notOk(after.body.messages.some((m: any) => m.text === 'anonymous words'), 'and stores nothing')
})

t.test('an open conversation: anyone logged in reads, posts, joins and leaves', async (t) => {
  const { id, url } = await create({ title: 'lobby' })
  t.equal(statusOf(await postMessage(b, stranger.cookie, id, 'hi all')), 201, 'no membership needed to post')
  t.equal(statusOf(await request(b, 'POST', `${url}/join`, { cookie: stranger.cookie })), 201, 'joined')
  t.equal(statusOf(await request(a, 'POST', `${url}/join`, { cookie: stranger.cookie })), 200, 'joining again changes nothing')
  const members = await request(a, 'GET', `${url}/members`, { cookie: member.cookie })
  t.same(
    members.body.members.map((m: any) => [m.user, m.role]),
    [
      [owner.username, 'owner'],
      [stranger.username, 'member'],
    ],
  )
  t.equal(statusOf(await request(a, 'POST', `${url}/leave`, { cookie: owner.cookie })), 400, 'the owner cannot leave')
  t.equal(statusOf(await request(b, 'POST', `${url}/leave`, { cookie: stranger.cookie })), 200, 'a member leaves')
  t.equal(statusOf(await request(b, 'POST', `${url}/leave`, { cookie: stranger.cookie })), 403, 'and is no member any more')
  const log = await request(a, 'GET', `${url}?N=10`, { cookie: owner.cookie })
  t.same(log.body.messages.map((m: any) => m.text), ['hi all'], 'joins and leaves are events, not messages')
})

t.test('history pages by seq, before and after, on either node', async (t) => {
  const { id, url } = await create({ title: 'history' })
  for (let i = 1; i <= 25; i++) await postMessage(i % 2 ? a : b, owner.cookie, id, `m${i}`)
  await request(a, 'DELETE', `${url}/13`, { cookie: owner.cookie })
  const texts = (res: Reply) => res.body.messages.map((m: any) => m.text)
  const seqs = (res: Reply) => res.body.messages.map((m: any) => Number(m.url.split('/').pop()))

  const newest = await request(b, 'GET', `${url}?limit=10`, { cookie: member.cookie })
  t.same(seqs(newest), [16, 17, 18, 19, 20, 21, 22, 23, 24, 25], 'the newest, oldest first')
  const back = await request(a, 'GET', `${url}?before=16&limit=10`, { cookie: member.cookie })
  t.same(seqs(back), [5, 6, 7, 8, 9, 10, 11, 12, 14, 15], 'the page before, without the deleted message')
  const start = await request(b, 'GET', `${url}?before=5&limit=10`, { cookie: member.cookie })
  t.same(texts(start), ['m1', 'm2', 'm3', 'm4'], 'the first page is short')
  t.same((await request(a, 'GET', `${url}?before=1`, { cookie: member.cookie })).body, { messages: [] }, 'nothing before the first')
  const forward = await request(a, 'GET', `${url}?after=10&N=4`, { cookie: member.cookie })
  t.same(seqs(forward), [11, 12, 14, 15], 'after a seq, oldest first; N works as the limit')
  t.same((await request(b, 'GET', `${url}?after=25`, { cookie: member.cookie })).body, { messages: [] }, 'nothing after the last')
  const secret = await create({ title: 'paged secret', kind: 'private' })
  t.equal((await request(a, 'GET', `${secret.url}?after=0`, { cookie: stranger.cookie })).status, 404, 'paging a private conversation of others')
})

t.test('bad input to the new routes is a 4xx', async (t) => {
  const { url } = await create({ title: 'input' })
  const cases: [string, string, object | undefined, number][] = [
    ['POST', '/api/conversations', { title: 'x', kind: 'direct' }, 400],
    ['POST', '/api/conversations', { title: 'x', kind: 'secret' }, 400],
    ['POST', '/api/conversations', { title: 'x', members: ['nobody-at-all'] }, 404],
    ['POST', '/api/conversations', { title: 'x', members: 'alice' }, 400],
    ['POST', '/api/conversations', { title: 'x', members: ['a\u0000b'] }, 400],
    ['POST', `${url}/members`, { username: '\u0000' }, 400],
    ['DELETE', `${url}/members/a%00b`, undefined, 400],
    ['GET', '/api/direct/a%00b', undefined, 400],
    ['POST', '/api/direct/a%00b', undefined, 400],
    ['GET', `/api/direct/${'x'.repeat(300)}`, undefined, 404],
    ['GET', '/api/inbox?cursor=%00', undefined, 400],
    ['GET', `${url}?before=x`, undefined, 400],
    ['GET', `${url}?before=1&after=2`, undefined, 400],
    ['GET', `${url}?N=5&limit=5`, undefined, 400],
    ['GET', `${url}?after=-1`, undefined, 400],
    ['GET', `${url}?limit=0`, undefined, 400],
    ['POST', `${url}/read`, { seq: -1 }, 400],
    ['POST', `${url}/read`, { seq: '3' }, 400],
    ['POST', `${url}/members`, {}, 400],
    ['POST', `${url}/members`, { username: 'nobody-at-all' }, 404],
    ['DELETE', `${url}/members/nobody-at-all`, undefined, 404],
    ['GET', `${url}/members?after=x`, undefined, 400],
    ['GET', '/api/conversations/99999999/members', undefined, 404],
  ]
  for (const [method, path, body, status] of cases) {
    const res = await request(a, method, path, { cookie: owner.cookie, body })
    t.equal(res.status, status, `${method} ${path} ${JSON.stringify(body)}`)
  }
  const notLoggedIn = await login(a, member.username, PASSWORD)
  t.ok(notLoggedIn, 'the member can still log in')
})
