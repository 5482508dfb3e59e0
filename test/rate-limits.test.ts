import t, { type Test } from 'tap'
import { startCluster } from './helpers/cluster.js'
import { createConversation, newUsername, request, sessionCookieOf } from './helpers/http-client.js'
import { TestSocket } from './helpers/ws-client.js'

const PASSWORD = 'correct horse battery'
// Two real nodes sharing the limits through Redis. Behind a trusted proxy, each test speaks from
// client addresses of its own (X-Forwarded-For), so that the per-IP counts of one do not touch another.
const nodes = await startCluster(t, 'rate_limits', 2, {
  TRUST_PROXY: 'loopback',
  RATE_LIMIT_LOGIN_ACCOUNT: '3/60',
  RATE_LIMIT_LOGIN_IP: '5/60',
  RATE_LIMIT_REGISTER_IP: '3/60',
  RATE_LIMIT_MESSAGES: '5/60',
})
const [a, b] = nodes.map((n) => n.url) as [string, string]
const from = (ip: string) => ({ 'x-forwarded-for': ip })

let addresses = 0
/** Registers from an address of its own, so that the registration limit counts only its own test's. */
async function register(url: string, username: string, password?: string) {
  const res = await request(url, 'POST', '/auth/register', { body: { username, password }, headers: from(`192.0.2.${++addresses}`) })
  if (res.status !== 201) throw new Error(`register: ${res.status}`)
  return { username, cookie: sessionCookieOf(res) as string }
}

const loginAt = (url: string, username: string, password: string, ip: string) =>
  request(url, 'POST', '/auth/login', { body: { username, password }, headers: from(ip) })

function isTooMany(t: Test, res: { status: number; headers: Headers; body: any }, what: string) {
  t.equal(res.status, 429, what)
  t.equal(res.body.status, 'too many requests')
  const retryAfter = Number(res.headers.get('retry-after'))
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`)
}

t.test('login failures are counted per account across nodes, whatever the address', async (t) => {
  const { username } = await register(a, newUsername('flood'), PASSWORD)
  const other = await register(a, newUsername('bystander'), PASSWORD)
  for (let i = 1; i <= 3; i++) {
    const res = await loginAt(i % 2 ? a : b, username, `wrong password ${i}`, `198.51.100.${i}`)
    t.equal(res.status, 401, `failure ${i} on node ${i % 2 ? 'a' : 'b'}`)
  }
  isTooMany(t, await loginAt(b, username, 'wrong again', '198.51.100.9'), 'the 4th attempt, from yet another address')
  isTooMany(t, await loginAt(a, username.toUpperCase(), PASSWORD, '198.51.100.10'), 'even the right password, in any letter case')
  t.equal((await loginAt(a, other.username, PASSWORD, '198.51.100.1')).status, 200, 'another account is not affected')
})

t.test('login failures are counted per address across accounts', async (t) => {
  for (let i = 1; i <= 5; i++) {
    const res = await loginAt(i % 2 ? a : b, newUsername('nobody'), 'whatever password', '198.51.100.77')
    t.equal(res.status, 401, `failure ${i}`)
  }
  isTooMany(t, await loginAt(a, newUsername('nobody'), 'whatever password', '198.51.100.77'), 'the 6th, for yet another account')
  t.equal((await loginAt(b, newUsername('nobody'), 'whatever password', '198.51.100.78')).status, 401, 'another address is not affected')
})

t.test('messages are counted per user over REST and WebSocket alike, across nodes', async (t) => {
  const user = await register(a, newUsername('chatty'))
  const { id } = await createConversation(a, user.cookie)
  const socket = await TestSocket.connect(b, user.cookie)
  t.teardown(() => socket.close())
  for (let i = 1; i <= 3; i++) t.equal((await request(i % 2 ? a : b, 'POST', `/api/conversations/${id}`, { cookie: user.cookie, body: { text: `rest ${i}` } })).status, 201)
  for (let i = 1; i <= 2; i++) t.equal((await socket.call({ type: 'send', id: `ws${i}`, conversationId: id, text: `ws ${i}` })).type, 'ack')

  isTooMany(t, await request(a, 'POST', `/api/conversations/${id}`, { cookie: user.cookie, body: { text: 'one too many' } }), 'REST')
  const refused = await socket.call({ type: 'send', id: 'ws3', conversationId: id, text: 'one too many' })
  t.match(refused, { type: 'error', id: 'ws3', code: 'rate_limited', retryAfterSeconds: Number })
  t.ok(await socket.call({ type: 'ping', id: 'still-open' }), 'the socket stays open')
  const history = await request(b, 'GET', `/api/conversations/${id}?N=100`, { cookie: user.cookie })
  t.equal(history.body.messages.length, 5, 'nothing past the limit was stored')

  const other = await register(b, newUsername('quiet'))
  t.equal((await request(b, 'POST', `/api/conversations/${id}`, { cookie: other.cookie, body: { text: 'hi' } })).status, 201, 'another user is not affected')
})

t.test('registrations are counted per address across nodes', async (t) => {
  for (let i = 1; i <= 3; i++) {
    const res = await request(i % 2 ? a : b, 'POST', '/auth/register', { body: { username: newUsername('reg') }, headers: from('203.0.113.5') })
    t.equal(res.status, 201, `registration ${i}`)
  }
  const username = newUsername('reg')
  isTooMany(t, await request(a, 'POST', '/auth/register', { body: { username }, headers: from('203.0.113.5') }), 'the 4th')
  t.equal((await request(b, 'POST', '/auth/register', { body: { username }, headers: from('203.0.113.6') })).status, 201, 'the name was not taken by the refused attempt')
})
