import t from 'tap'
import { startCluster } from './helpers/cluster.js'
import { newUsername, postMessage, register, request } from './helpers/http-client.js'
import { TestSocket } from './helpers/ws-client.js'

const nodes = await startCluster(t, 'edits', 2)
const [a, b] = nodes.map((n) => n.url) as [string, string]
const idOf = (url: string) => Number(url.split('/').pop())

t.test('the author edits a message; subscribers on every node get message.edited', async (t) => {
  const author = await register(a, newUsername('author'))
  const other = await register(b, newUsername('other'))
  const { body } = await request(a, 'POST', '/api/conversations', { cookie: author.cookie, body: { title: 'edits' } })
  const id = idOf(body.url)
  const posted = await postMessage(a, author.cookie, id, 'helo')
  const watchers = [await TestSocket.connect(a, other.cookie), await TestSocket.connect(b, other.cookie)]
  t.teardown(() => watchers.forEach((w) => w.close()))
  for (const w of watchers) await w.call({ type: 'subscribe', id: 's', conversationId: id })

  const edited = await request(b, 'PATCH', posted.body.url, { cookie: author.cookie, body: { text: 'hello' } })
  t.equal(edited.status, 200)
  t.same(Object.keys(edited.body).sort(), ['edited', 'text', 'timestamp', 'url', 'user'])
  t.match(edited.body, { text: 'hello', url: posted.body.url, user: author.username, edited: /^\d{4}-.*Z$/ })
  for (const w of watchers) {
    const [event] = await w.waitForEvents(1)
    t.same(event, { type: 'message.edited', conversationId: id, seq: 2, messageSeq: 1, url: posted.body.url, text: 'hello', edited: edited.body.edited })
  }
  t.same((await request(a, 'GET', posted.body.url, { cookie: other.cookie })).body, edited.body, 'REST reads the new text and time')
  const resumed = await TestSocket.connect(b, other.cookie)
  t.teardown(() => resumed.close())
  await resumed.call({ type: 'subscribe', id: 'r', conversationId: id, afterSeq: 0 })
  const replay = await resumed.waitForEvents(2)
  t.same(replay.map((e) => [e.type, e.message?.text ?? e.text]), [['message.created', 'hello'], ['message.edited', 'hello']], 'a resume replays the edit')

  t.equal((await request(a, 'PATCH', posted.body.url, { cookie: other.cookie, body: { text: 'mine now' } })).status, 403, "another user's message")
  t.equal((await request(a, 'PATCH', posted.body.url, { cookie: author.cookie, body: { text: '' } })).status, 400, 'empty text')
  t.equal((await request(a, 'PATCH', posted.body.url, { body: { text: 'x' } })).status, 401, 'not logged in')
  t.equal((await request(a, 'PATCH', `${body.url}/999`, { cookie: author.cookie, body: { text: 'x' } })).status, 404, 'no such message')
  await request(a, 'DELETE', posted.body.url, { cookie: author.cookie })
  t.equal((await request(a, 'PATCH', posted.body.url, { cookie: author.cookie, body: { text: 'x' } })).status, 404, 'a deleted message')

  const secret = await request(a, 'POST', '/api/conversations', { cookie: author.cookie, body: { title: 'mine', kind: 'private' } })
  const hidden = await postMessage(a, author.cookie, idOf(secret.body.url), 'private words')
  t.equal((await request(b, 'PATCH', hidden.body.url, { cookie: other.cookie, body: { text: 'x' } })).status, 404, 'in a private conversation of others')
})

t.test('blocking: no direct conversation across a block, either way', async (t) => {
  const blocker = await register(a, newUsername('blocker'))
  const pest = await register(b, newUsername('pest'))
  const direct = await request(b, 'POST', `/api/direct/${blocker.username}`, { cookie: pest.cookie })
  const id = idOf(direct.body.url)
  t.equal((await postMessage(b, pest.cookie, id, 'hi')).status, 201, 'before the block')

  t.equal((await request(a, 'POST', '/api/blocks', { cookie: blocker.cookie, body: { username: pest.username } })).status, 201)
  t.equal((await request(a, 'POST', '/api/blocks', { cookie: blocker.cookie, body: { username: pest.username } })).status, 200, 'blocking twice')
  const list = await request(b, 'GET', '/api/blocks', { cookie: blocker.cookie })
  t.same(list.body.blocks.map((x: any) => x.username), [pest.username])

  const refused = await postMessage(b, pest.cookie, id, 'hello??')
  t.same([refused.status, refused.body], [403, { status: 'unauthorised' }], 'the blocked user cannot post')
  t.equal((await postMessage(a, blocker.cookie, id, 'go away')).status, 403, 'nor can the blocker, until they unblock')
  const socket = await TestSocket.connect(b, pest.cookie)
  t.teardown(() => socket.close())
  t.match(await socket.call({ type: 'send', id: 'w', conversationId: id, text: 'over the socket' }), { type: 'error', code: 'forbidden' })
  t.equal((await request(b, 'POST', `/api/direct/${blocker.username}`, { cookie: pest.cookie })).status, 403, 'nor start one')
  const third = await register(a, newUsername('third'))
  const group = await request(a, 'POST', '/api/conversations', { cookie: pest.cookie, body: { title: 'g', kind: 'private' } })
  t.equal((await request(a, 'POST', `${group.body.url}/members`, { cookie: pest.cookie, body: { username: blocker.username } })).status, 403, 'nor add the blocker to a conversation')
  t.equal((await request(a, 'POST', `${group.body.url}/members`, { cookie: pest.cookie, body: { username: third.username } })).status, 201, 'others, yes')

  const history = await request(a, 'GET', direct.body.url, { cookie: blocker.cookie })
  t.same(history.body.messages.map((m: any) => m.text), ['hi'], 'nothing refused was stored')
  t.equal((await request(a, 'DELETE', `/api/blocks/${pest.username}`, { cookie: blocker.cookie })).status, 200)
  t.equal((await request(a, 'DELETE', `/api/blocks/${pest.username}`, { cookie: blocker.cookie })).status, 404, 'unblocking twice')
  t.equal((await postMessage(b, pest.cookie, id, 'sorry')).status, 201, 'after unblocking')

  for (const [body, status] of [[{ username: blocker.username }, 400], [{ username: 'nobody-at-all' }, 404], [{}, 400], [{ username: 5 }, 400], [{ username: 'a\u0000b' }, 400]] as const)
    t.equal((await request(a, 'POST', '/api/blocks', { cookie: blocker.cookie, body })).status, status, JSON.stringify(body))
  t.equal((await request(a, 'GET', '/api/blocks')).status, 401)
  t.equal((await request(a, 'DELETE', '/api/blocks/a%00b', { cookie: blocker.cookie })).status, 400)
})

t.test('across a block neither user edits in their direct conversation (403, like a post); deleting stays allowed', async (t) => {
  const blocker = await register(a, newUsername('eblocker'))
  const pest = await register(b, newUsername('epest'))
  const direct = await request(b, 'POST', `/api/direct/${blocker.username}`, { cookie: pest.cookie })
  const id = idOf(direct.body.url)
  const pestPost = await postMessage(b, pest.cookie, id, 'first words')
  const blockerPost = await postMessage(a, blocker.cookie, id, 'a reply')
  const watcher = await TestSocket.connect(a, blocker.cookie)
  t.teardown(() => watcher.close())
  await watcher.call({ type: 'subscribe', id: 's', conversationId: id, afterSeq: 2 })
  t.equal((await request(a, 'POST', '/api/blocks', { cookie: blocker.cookie, body: { username: pest.username } })).status, 201)

  const refused = await request(b, 'PATCH', pestPost.body.url, { cookie: pest.cookie, body: { text: 'edited across the block' } })
  t.same([refused.status, refused.body], [403, { status: 'unauthorised' }], 'the blocked user cannot edit')
  t.equal((await request(a, 'PATCH', blockerPost.body.url, { cookie: blocker.cookie, body: { text: 'nor the blocker' } })).status, 403, 'nor can the blocker')
  t.equal((await request(a, 'GET', pestPost.body.url, { cookie: blocker.cookie })).body.text, 'first words', 'the text is unchanged')

  const removed = await request(b, 'DELETE', pestPost.body.url, { cookie: pest.cookie })
  t.equal(removed.status, 200, 'deleting one\'s own message is allowed across a block (it only takes away)')
  const [event] = await watcher.waitForEvents(1)
  t.same(event, { type: 'message.deleted', conversationId: id, seq: 3, messageSeq: 1, url: pestPost.body.url }, 'the refused edits took no seq and sent no event')

  t.equal((await request(a, 'DELETE', `/api/blocks/${pest.username}`, { cookie: blocker.cookie })).status, 200)
  const edited = await request(a, 'PATCH', blockerPost.body.url, { cookie: blocker.cookie, body: { text: 'after unblocking' } })
  t.equal(edited.status, 200, 'after unblocking')
  const events = await watcher.waitForEvents(2)
  t.match(events[1], { type: 'message.edited', seq: 4, messageSeq: 2, text: 'after unblocking' })
})
