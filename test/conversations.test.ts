import t from 'tap'
import { startNode } from './helpers/in-process.js'
import { createConversation, newUsername, postMessage, register, request } from './helpers/http-client.js'

const { url } = await startNode(t, 'conversations')
const alice = await register(url)
const bob = await register(url)

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

t.test('every /api route needs a valid session', async (t) => {
  const { id } = await createConversation(url, alice.cookie)
  const posted = await postMessage(url, alice.cookie, id, 'hello')
  const routes: [string, string, unknown?][] = [
    ['GET', '/api/conversations'],
    ['GET', '/api/conversations/'],
    ['POST', '/api/conversations', { title: 'x' }],
    ['GET', `/api/conversations/${id}`],
    ['POST', `/api/conversations/${id}`, { text: 'x' }],
    ['GET', posted.body.url],
    ['DELETE', posted.body.url],
  ]
  const forged = [
    undefined,
    'sid=',
    'sid=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    // alice's token with its last character changed: one character off is still a stranger.
    `sid=${alice.cookie.slice(4, -1)}${alice.cookie.endsWith('A') ? 'B' : 'A'}`,
    'sid=not a token',
    `sid=${'x'.repeat(4000)}`,
    "sid=' OR 1=1 --",
  ]
  for (const [method, path, body] of routes) {
    for (const cookie of forged) {
      const res = await request(url, method, path, { cookie, body })
      t.equal(res.status, 401, `${method} ${path} with ${cookie?.slice(0, 20)}`)
      t.same(res.body, { status: 'unauthorised' })
    }
  }
  t.equal((await request(url, 'GET', posted.body.url, { cookie: alice.cookie })).status, 200, 'nothing was deleted')
})

t.test('create, list, post, read and page', async (t) => {
  const created = await request(url, 'POST', '/api/conversations/', { cookie: alice.cookie, body: { title: 'xyzzy' } })
  t.equal(created.status, 201)
  t.same(Object.keys(created.body).sort(), ['status', 'url'])
  t.equal(created.body.status, 'success')
  t.match(created.body.url, /^\/api\/conversations\/\d+$/)
  const conversationUrl = created.body.url

  const texts = Array.from({ length: 12 }, (_, i) => `message **${i}**`)
  for (const text of texts) {
    const res = await request(url, 'POST', conversationUrl, { cookie: bob.cookie, body: { text } })
    t.equal(res.status, 201)
    t.same(Object.keys(res.body).sort(), ['status', 'url'])
    t.match(res.body.url, new RegExp(`^${conversationUrl}/\\d+$`))
  }

  const list = await request(url, 'GET', '/api/conversations', { cookie: bob.cookie })
  t.equal(list.status, 200)
  t.same(Object.keys(list.body), ['conversations'])
  const entry = list.body.conversations.find((c: any) => c.url === conversationUrl)
  t.same(entry, { title: 'xyzzy', msgcount: 12, url: conversationUrl })

  const page = await request(url, 'GET', conversationUrl, { cookie: alice.cookie })
  t.equal(page.status, 200)
  t.same(Object.keys(page.body), ['messages'])
  t.equal(page.body.messages.length, 10, 'ten by default')
  t.same(page.body.messages.map((m: any) => m.text), texts.slice(2), 'the most recent, oldest first')
  for (const m of page.body.messages) {
    t.same(Object.keys(m).sort(), ['edited', 'text', 'timestamp', 'url', 'user'], 'the specified keys, and edited')
    t.equal(m.edited, null, 'never edited')
    t.equal(m.user, bob.username)
    t.match(m.timestamp, ISO_UTC)
  }

  const three = await request(url, 'GET', `${conversationUrl}?N=3`, { cookie: alice.cookie })
  t.same(three.body.messages.map((m: any) => m.text), texts.slice(9))
  const all = await request(url, 'GET', `${conversationUrl}?N=100`, { cookie: alice.cookie })
  t.equal(all.body.messages.length, 12)

  const one = await request(url, 'GET', page.body.messages[0].url, { cookie: alice.cookie })
  t.equal(one.status, 200)
  t.same(one.body, page.body.messages[0], 'a message reads the same alone and in a listing')

  const lastDelete = await request(url, 'DELETE', page.body.messages[9].url, { cookie: bob.cookie })
  t.same(lastDelete.body, { status: 'success' })
  const after = await request(url, 'GET', `${conversationUrl}?N=100`, { cookie: alice.cookie })
  t.same(after.body.messages.map((m: any) => m.text), texts.slice(0, 11), 'a deleted message is gone from listings')
  const counted = await request(url, 'GET', '/api/conversations', { cookie: bob.cookie })
  t.equal(counted.body.conversations.find((c: any) => c.url === conversationUrl).msgcount, 11, 'msgcount leaves out deleted messages')
})

t.test('message text is stored and returned verbatim', async (t) => {
  const { id } = await createConversation(url, alice.cookie)
  const texts = [
    '# Title\n\n- a\n- b\n\n```js\nconsole.log("x")\n```',
    '<script>alert(1)</script> & "quotes" \'single\'',
    'emoji 👋🏽 and 中文 and \u0001 control',
    '  leading and trailing spaces  ',
    'x'.repeat(4000),
    '😀'.repeat(4000),
  ]
  for (const text of texts) {
    const posted = await postMessage(url, alice.cookie, id, text)
    t.equal(posted.status, 201, text.slice(0, 20))
    const read = await request(url, 'GET', posted.body.url, { cookie: bob.cookie })
    t.equal(read.body.text, text, text.slice(0, 20))
  }
})

t.test('only the author may delete a message', async (t) => {
  const { id } = await createConversation(url, alice.cookie)
  const posted = await postMessage(url, alice.cookie, id, 'mine')
  const refused = await request(url, 'DELETE', posted.body.url, { cookie: bob.cookie })
  t.equal(refused.status, 403)
  t.same(refused.body, { status: 'unauthorised' })
  const still = await request(url, 'GET', posted.body.url, { cookie: bob.cookie })
  t.equal(still.status, 200, 'the message remains')
  t.equal(still.body.text, 'mine')

  t.equal((await request(url, 'DELETE', posted.body.url, { cookie: alice.cookie })).status, 200)
  t.equal((await request(url, 'GET', posted.body.url, { cookie: alice.cookie })).status, 404, 'deleted')
  t.equal((await request(url, 'DELETE', posted.body.url, { cookie: alice.cookie })).status, 404, 'deleting twice')
})

t.test('unknown and malformed ids are 404', async (t) => {
  const { id } = await createConversation(url, alice.cookie)
  const posted = await postMessage(url, alice.cookie, id, 'there')
  const seq = posted.body.url.split('/').pop()
  const badIds = ['999999', '0', '-1', '1.5', '1e3', '..%2F', '..%2F..%2Fetc', '1%20OR%201=1', "1'%20OR%20'1'='1", '99999999999999999999', '%00', 'abc']
  for (const bad of badIds) {
    for (const [method, path, body] of [
      ['GET', `/api/conversations/${bad}`],
      ['POST', `/api/conversations/${bad}`, { text: 'x' }],
      ['GET', `/api/conversations/${bad}/${seq}`],
      ['DELETE', `/api/conversations/${bad}/${seq}`],
      ['GET', `/api/conversations/${id}/${bad}`],
      ['DELETE', `/api/conversations/${id}/${bad}`],
    ] as [string, string, unknown?][]) {
      const res = await request(url, method, path, { cookie: alice.cookie, body })
      t.equal(res.status, 404, `${method} ${path}`)
      t.same(res.body, { status: 'not found' })
    }
  }
  t.equal((await request(url, 'GET', posted.body.url, { cookie: alice.cookie })).status, 200, 'the real message is untouched')
})

t.test('N must be an integer from 1 to 100', async (t) => {
  const { url: conversationUrl } = await createConversation(url, alice.cookie)
  for (const n of ['0', '101', '-1', '1.5', 'abc', '', '1e2', '10abc']) {
    const res = await request(url, 'GET', `${conversationUrl}?N=${n}`, { cookie: alice.cookie })
    t.equal(res.status, 400, `N=${n}`)
    t.equal(res.body.status, 'invalid request')
  }
  for (const n of ['1', '100']) t.equal((await request(url, 'GET', `${conversationUrl}?N=${n}`, { cookie: alice.cookie })).status, 200)
})

t.test('bad bodies are 4xx and create nothing', async (t) => {
  const { id, url: conversationUrl } = await createConversation(url, alice.cookie, 'bodies')
  const json = { 'content-type': 'application/json' }
  const cases: [string, string, { body?: unknown; rawBody?: string; headers?: Record<string, string> }, number][] = [
    ['title missing', '/api/conversations', { body: {} }, 400],
    ['title empty', '/api/conversations', { body: { title: '' } }, 400],
    ['title blank', '/api/conversations', { body: { title: ' \n\t ' } }, 400],
    ['title too long', '/api/conversations', { body: { title: 't'.repeat(201) } }, 400],
    ['title a number', '/api/conversations', { body: { title: 42 } }, 400],
    ['title an array', '/api/conversations', { body: { title: ['x'] } }, 400],
    ['body an array', '/api/conversations', { body: [{ title: 'x' }] }, 400],
    ['body null', '/api/conversations', { rawBody: 'null', headers: json }, 400],
    ['not JSON', '/api/conversations', { rawBody: '{title:', headers: json }, 400],
    ['no content type', '/api/conversations', { rawBody: '{"title":"x"}' }, 415],
    ['form', '/api/conversations', { rawBody: 'title=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415],
    ['text missing', conversationUrl, { body: {} }, 400],
    ['text empty', conversationUrl, { body: { text: '' } }, 400],
    ['text blank', conversationUrl, { body: { text: '   ' } }, 400],
    ['text too long', conversationUrl, { body: { text: 'x'.repeat(4001) } }, 400],
    ['text an object', conversationUrl, { body: { text: { $gt: '' } } }, 400],
    ['text true', conversationUrl, { body: { text: true } }, 400],
    ['text with NUL', conversationUrl, { body: { text: 'a\u0000b' } }, 400],
    ['title with NUL', '/api/conversations', { body: { title: 'a\u0000b' } }, 400],
    ['not JSON', conversationUrl, { rawBody: 'hello', headers: json }, 400],
    ['over 1 MiB', conversationUrl, { body: { text: 'x'.repeat(1024 * 1024 + 1) } }, 413],
    ['idempotency key too long', conversationUrl, { body: { text: 'x' }, headers: { 'idempotency-key': 'k'.repeat(65) } }, 400],
  ]
  for (const [what, path, options, status] of cases) {
    const res = await request(url, 'POST', path, { cookie: alice.cookie, ...options })
    t.equal(res.status, status, what)
    t.type(res.body.status, 'string', what)
  }
  const list = await request(url, 'GET', '/api/conversations', { cookie: alice.cookie })
  t.equal(list.body.conversations.find((c: any) => c.url === conversationUrl).msgcount, 0, 'no message was created')
  t.notOk(list.body.conversations.some((c: any) => c.title === 'x'), 'no conversation was created')
  t.equal((await request(url, 'GET', `/api/conversations/${id}`, { cookie: alice.cookie })).body.messages.length, 0)
})

t.test('a retried post with the same Idempotency-Key creates one message', async (t) => {
  const { id, url: conversationUrl } = await createConversation(url, alice.cookie)
  const headers = { 'idempotency-key': 'client-msg-1' }
  const attempts = await Promise.all(
    Array.from({ length: 5 }, () => request(url, 'POST', conversationUrl, { cookie: alice.cookie, body: { text: 'once' }, headers })),
  )
  t.same(new Set(attempts.map((a) => a.status)), new Set([201]))
  t.equal(new Set(attempts.map((a) => a.body.url)).size, 1, 'every attempt names the same message')
  const other = await request(url, 'POST', conversationUrl, { cookie: bob.cookie, body: { text: 'bob' }, headers })
  t.not(other.body.url, attempts[0]!.body.url, "keys are per author: bob's key does not collide with alice's")
  const listed = await request(url, 'GET', `/api/conversations/${id}`, { cookie: alice.cookie })
  t.same(listed.body.messages.map((m: any) => m.text), ['once', 'bob'])
  t.equal(listed.body.messages[1].url, `${conversationUrl}/2`, 'no seq was used up by the retries')
})

t.test('health and readiness', async (t) => {
  const health = await request(url, 'GET', '/healthz')
  t.same([health.status, health.body], [200, { status: 'ok' }])
  const ready = await request(url, 'GET', '/readyz')
  t.same([ready.status, ready.body], [200, { status: 'ok', postgres: true, redis: true }])
  const unknown = await request(url, 'GET', '/nope', { cookie: alice.cookie })
  t.same([unknown.status, unknown.body], [404, { status: 'not found' }])
})

t.test('creating a conversation with unknown members is 404 naming every one of them, and creates nothing', async (t) => {
  const ghosts = [newUsername('ghost'), newUsername('ghost')]
  const title = `with ghosts ${ghosts[0]}`
  const res = await request(url, 'POST', '/api/conversations', { cookie: alice.cookie, body: { title, kind: 'private', members: [ghosts[0], bob.username, ghosts[1]] } })
  t.equal(res.status, 404)
  t.equal(res.body.status, 'not found')
  t.same(Object.keys(res.body).sort(), ['message', 'status'], 'the documented shape')
  for (const ghost of ghosts) t.match(res.body.message, ghost, `the message names ${ghost}`)
  t.notMatch(res.body.message, bob.username, 'and not the user who exists')
  const list = await request(url, 'GET', '/api/conversations', { cookie: alice.cookie })
  t.notOk(list.body.conversations.some((c: any) => c.title === title), 'nothing was created')

  const { url: conversationUrl } = await createConversation(url, alice.cookie, 'adding a ghost')
  const added = await request(url, 'POST', `${conversationUrl}/members`, { cookie: alice.cookie, body: { username: ghosts[0] } })
  t.same([added.status, added.body.message], [404, `unknown user: ${ghosts[0]}`], 'adding one unknown member names them too')
})
