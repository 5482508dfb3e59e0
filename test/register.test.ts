import t from 'tap'
import pg from 'pg'
import { startNode } from './helpers/in-process.js'
import { newUsername, request } from './helpers/http-client.js'

const node = await startNode(t, 'register')
const url = node.url

t.test('registration starts a session with a safe cookie', async (t) => {
  const username = newUsername()
  const res = await request(url, 'POST', '/auth/register', { body: { username } })
  t.equal(res.status, 201)
  t.same(res.body, { status: 'success' })
  const cookie = res.headers.get('set-cookie') ?? ''
  const token = /^sid=([A-Za-z0-9_-]+);/.exec(cookie)?.[1] ?? ''
  t.equal(Buffer.from(token, 'base64url').length, 32, 'the token carries 256 random bits')
  t.match(cookie, /HttpOnly/)
  t.match(cookie, /SameSite=Lax/)
  t.match(cookie, /Path=\//)
  t.notMatch(cookie, /Secure/, 'Secure only when configured')

  const list = await request(url, 'GET', '/api/conversations', { cookie: `sid=${token}` })
  t.equal(list.status, 200, 'the cookie authenticates')

  const db = new pg.Client({ connectionString: node.config.databaseUrl })
  await db.connect()
  const stored = await db.query('SELECT encode(token_hash, $1) AS h FROM sessions', ['escape'])
  await db.end()
  t.ok(stored.rows.length > 0)
  t.notOk(stored.rows.some((r) => r.h.includes(token)), 'only a hash of the token is stored')
})

t.test('each registration and each device gets a session of its own', async (t) => {
  const a = await request(url, 'POST', '/auth/register', { body: { username: newUsername() } })
  const b = await request(url, 'POST', '/auth/register', { body: { username: newUsername() } })
  t.not(a.headers.get('set-cookie'), b.headers.get('set-cookie'))
})

t.test('usernames are unique without regard to case', async (t) => {
  const username = newUsername('Case')
  t.equal((await request(url, 'POST', '/auth/register', { body: { username } })).status, 201)
  for (const taken of [username, username.toUpperCase(), username.toLowerCase()]) {
    const res = await request(url, 'POST', '/auth/register', { body: { username: taken } })
    t.equal(res.status, 409, taken)
    t.same(res.body, { status: 'username taken' })
    t.notOk(res.headers.get('set-cookie'), 'no session for a refused registration')
  }
})

t.test('a password is accepted and stored as a bcrypt hash', async (t) => {
  const username = newUsername()
  const res = await request(url, 'POST', '/auth/register', { body: { username, password: 'correct horse battery' } })
  t.equal(res.status, 201)
  const db = new pg.Client({ connectionString: node.config.databaseUrl })
  await db.connect()
  const { rows } = await db.query('SELECT password_hash FROM users WHERE username = $1', [username])
  await db.end()
  t.match(rows[0].password_hash, /^\$2b\$10\$/, 'bcrypt at the configured cost')
})

t.test('bad registrations are 400 and create nothing', async (t) => {
  const cases: [string, unknown][] = [
    ['too short', { username: 'ab' }],
    ['too long', { username: 'a'.repeat(33) }],
    ['bad characters', { username: 'bob smith' }],
    ['path characters', { username: '../etc' }],
    ['starts with a dot', { username: '.bob' }],
    ['number', { username: 12345 }],
    ['missing', {}],
    ['null', { username: null }],
    ['password too short', { username: newUsername(), password: 'short' }],
    ['password over 72 bytes', { username: newUsername(), password: 'é'.repeat(37) }],
    ['password with NUL', { username: newUsername(), password: 'abcdefgh\u0000ijk' }],
    ['password wrong type', { username: newUsername(), password: 12345678 }],
  ]
  for (const [what, body] of cases) {
    const res = await request(url, 'POST', '/auth/register', { body })
    t.equal(res.status, 400, what)
    t.equal(res.body.status, 'invalid request', what)
    t.type(res.body.message, 'string', what)
  }
  const notJson = await request(url, 'POST', '/auth/register', { rawBody: '{"username":', headers: { 'content-type': 'application/json' } })
  t.equal(notJson.status, 400, 'malformed JSON')
  const text = await request(url, 'POST', '/auth/register', { rawBody: 'username=bob', headers: { 'content-type': 'text/plain' } })
  t.equal(text.status, 415, 'not JSON at all')
  const huge = await request(url, 'POST', '/auth/register', { body: { username: 'x'.repeat(1024 * 1024 + 10) } })
  t.equal(huge.status, 413, 'a body over 1 MiB')
})

t.test('a 72-byte password is the longest accepted', async (t) => {
  const res = await request(url, 'POST', '/auth/register', { body: { username: newUsername(), password: 'a'.repeat(72) } })
  t.equal(res.status, 201)
})
