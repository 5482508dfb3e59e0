import t from 'tap'
import pg from 'pg'
import { startNode } from './helpers/in-process.js'
import { login, newUsername, register, request, sessionCookieOf } from './helpers/http-client.js'

const node = await startNode(t, 'login', { SESSION_CACHE_MS: '0' })
const url = node.url
const PASSWORD = 'correct horse battery'

const me = (cookie: string) => request(url, 'GET', '/api/me', { cookie })

async function sql(text: string, values: unknown[]): Promise<void> {
  const client = new pg.Client({ connectionString: node.config.databaseUrl })
  await client.connect()
  await client.query(text, values)
  await client.end()
}

t.test('login with a password starts a new session with a new token', async (t) => {
  const alice = await register(url, newUsername('alice'), PASSWORD)
  const res = await request(url, 'POST', '/auth/login', { body: { username: alice.username.toUpperCase(), password: PASSWORD } })
  t.same([res.status, res.body], [200, { status: 'success' }], 'the name matches in any letter case')
  const cookie = sessionCookieOf(res) as string
  t.not(cookie, alice.cookie, 'a token of its own')
  t.match(res.headers.get('set-cookie'), /HttpOnly/i)
  t.equal((await me(cookie)).body.username, alice.username)
  t.equal((await me(alice.cookie)).status, 200, 'the registration session is another device and goes on')
})

t.test('a session fixed in advance is never adopted: login issues a new token', async (t) => {
  const bob = await register(url, newUsername('bob'), PASSWORD)
  const planted = `sid=${'A'.repeat(43)}`
  const res = await request(url, 'POST', '/auth/login', { cookie: planted, body: { username: bob.username, password: PASSWORD } })
  const issued = sessionCookieOf(res)
  t.equal(res.status, 200)
  t.not(issued, planted, 'the cookie is replaced')
  t.equal((await me(planted)).status, 401, 'the planted token is still nobody')
  t.equal((await me(issued as string)).status, 200)

  // A real session of an attacker, planted in the victim's browser, is not adopted either.
  const attacker = await register(url, newUsername('attacker'), PASSWORD)
  const again = await request(url, 'POST', '/auth/login', { cookie: attacker.cookie, body: { username: bob.username, password: PASSWORD } })
  t.not(sessionCookieOf(again), attacker.cookie)
  t.equal((await me(sessionCookieOf(again) as string)).body.username, bob.username)
  t.equal((await me(attacker.cookie)).body.username, attacker.username, "the attacker's session stays the attacker's")
})

t.test('an unknown user, a wrong password and a password-less account get the same answer', async (t) => {
  const carol = await register(url, newUsername('carol'), PASSWORD)
  const nopass = await register(url, newUsername('nopass'))
  const attempts = [
    { username: newUsername('nobody'), password: PASSWORD },
    { username: carol.username, password: 'wrong password!' },
    { username: carol.username, password: PASSWORD + 'x'.repeat(60) },
    { username: nopass.username, password: PASSWORD },
  ]
  const answers = await Promise.all(attempts.map((body) => request(url, 'POST', '/auth/login', { body })))
  for (const res of answers) {
    t.same([res.status, res.body], [401, { status: 'unauthorised' }])
    t.equal(sessionCookieOf(res), undefined, 'no cookie')
  }
})

t.test('bad login bodies are 400', async (t) => {
  for (const body of [{}, { username: 'x' }, { password: 'y' }, { username: 5, password: 'y' }, { username: 'x', password: 'a\u0000b' }]) {
    t.equal((await request(url, 'POST', '/auth/login', { body })).status, 400, JSON.stringify(body))
  }
})

t.test('a username-only account sets a password while logged in, then can log in with it', async (t) => {
  const dave = await register(url, newUsername('dave'))
  t.equal((await request(url, 'POST', '/auth/password', { body: { password: PASSWORD } })).status, 401, 'only while logged in')
  const tooLong = await request(url, 'POST', '/auth/password', { cookie: dave.cookie, body: { password: 'p'.repeat(73) } })
  t.same([tooLong.status, tooLong.body.message], [400, 'password must be at most 72 bytes'])
  const tooShort = await request(url, 'POST', '/auth/password', { cookie: dave.cookie, body: { password: 'short' } })
  t.same([tooShort.status, tooShort.body.message], [400, 'password must be at least 8 characters'])
  t.equal((await request(url, 'POST', '/auth/password', { cookie: dave.cookie, body: { password: PASSWORD } })).status, 200)
  t.equal((await me(await login(url, dave.username, PASSWORD))).body.hasPassword, true)
})

t.test('changing a password needs the current one and ends the other sessions', async (t) => {
  const erin = await register(url, newUsername('erin'), PASSWORD)
  const phone = await login(url, erin.username, PASSWORD)
  for (const body of [{ password: 'a new password' }, { password: 'a new password', currentPassword: 'not the one' }]) {
    const res = await request(url, 'POST', '/auth/password', { cookie: erin.cookie, body })
    t.equal(res.status, 403, JSON.stringify(body))
  }
  const changed = await request(url, 'POST', '/auth/password', {
    cookie: erin.cookie,
    body: { password: 'a new password', currentPassword: PASSWORD },
  })
  t.equal(changed.status, 200)
  t.equal((await me(erin.cookie)).status, 200, 'the session that changed it goes on')
  t.equal((await me(phone)).status, 401, 'the other device is signed out')
  t.equal((await request(url, 'POST', '/auth/login', { body: { username: erin.username, password: PASSWORD } })).status, 401)
  t.equal((await me(await login(url, erin.username, 'a new password'))).status, 200)
})

t.test('logout ends the session and clears the cookie', async (t) => {
  const frank = await register(url, newUsername('frank'), PASSWORD)
  const other = await login(url, frank.username, PASSWORD)
  const res = await request(url, 'POST', '/auth/logout', { cookie: frank.cookie })
  t.same([res.status, res.body], [200, { status: 'success' }])
  t.match(res.headers.get('set-cookie'), /^sid=;/, 'the cookie is cleared')
  t.equal((await me(frank.cookie)).status, 401, 'the token no longer works')
  t.equal((await request(url, 'POST', '/auth/logout', { cookie: frank.cookie })).status, 401, 'logging out twice is 401')
  t.equal((await me(other)).status, 200, 'other devices stay signed in')
})

t.test('devices: a user lists their sessions and revokes one; nobody else can', async (t) => {
  const gina = await register(url, newUsername('gina'), PASSWORD)
  const laptop = sessionCookieOf(
    await request(url, 'POST', '/auth/login', { headers: { 'user-agent': 'Laptop/1.0' }, body: { username: gina.username, password: PASSWORD } }),
  ) as string
  const list = await request(url, 'GET', '/auth/sessions', { cookie: laptop })
  t.equal(list.status, 200)
  t.equal(list.body.sessions.length, 2)
  const current = list.body.sessions.find((s: any) => s.current)
  t.match(current, { kind: 'cookie', userAgent: 'Laptop/1.0', createdAt: String, lastSeenAt: String, id: Number })
  const other = list.body.sessions.find((s: any) => !s.current)

  const mallory = await register(url, newUsername('mallory'))
  t.equal((await request(url, 'DELETE', `/auth/sessions/${other.id}`, { cookie: mallory.cookie })).status, 404, "another user's session is not found")
  t.equal((await me(gina.cookie)).status, 200)
  for (const id of ['abc', '0', '99999999']) t.equal((await request(url, 'DELETE', `/auth/sessions/${id}`, { cookie: laptop })).status, 404, id)

  t.equal((await request(url, 'DELETE', `/auth/sessions/${other.id}`, { cookie: laptop })).status, 200)
  t.equal((await me(gina.cookie)).status, 401, 'the revoked device is signed out')
  t.same((await request(url, 'GET', '/auth/sessions', { cookie: laptop })).body.sessions.map((s: any) => s.id), [current.id])
})

t.test('a session unused for longer than the idle limit ends', async (t) => {
  const hank = await register(url, newUsername('hank'))
  await sql(`UPDATE sessions SET last_seen_at = now() - interval '8 days' WHERE user_id = (SELECT id FROM users WHERE username = $1)`, [hank.username])
  t.equal((await me(hank.cookie)).status, 401, 'idle for longer than SESSION_IDLE_SECONDS (7 days)')
})

t.test('profile: GET and PATCH /api/me', async (t) => {
  const ivy = await register(url, newUsername('ivy'))
  t.equal((await request(url, 'GET', '/api/me')).status, 401)
  const before = await me(ivy.cookie)
  t.match(before.body, { username: ivy.username, displayName: null, role: 'user', disabled: false, hasPassword: false, external: false })
  const patched = await request(url, 'PATCH', '/api/me', { cookie: ivy.cookie, body: { displayName: 'Ivy 🌿' } })
  t.same([patched.status, patched.body.displayName], [200, 'Ivy 🌿'])
  t.equal((await me(ivy.cookie)).body.displayName, 'Ivy 🌿')
  for (const body of [{ displayName: '' }, { displayName: '   ' }, { displayName: 'x'.repeat(65) }, { displayName: 3 }, { username: 'new' }, {}]) {
    t.equal((await request(url, 'PATCH', '/api/me', { cookie: ivy.cookie, body })).status, 400, JSON.stringify(body))
  }
  t.equal((await request(url, 'PATCH', '/api/me', { cookie: ivy.cookie, body: { displayName: null } })).body.displayName, null, 'null clears it')
})
