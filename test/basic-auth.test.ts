import t, { type Test } from 'tap'
import { errorShapeViolation } from './helpers/error-shape.js'
import { login, newUsername, register, request } from './helpers/http-client.js'
import { startNode } from './helpers/in-process.js'

/**
 * HTTP Basic: POST /auth/token takes it as a password login (same limits, same timing), and admin
 * routes take it only on a node run with ALLOW_BASIC_AUTH=true.
 */

const PASSWORD = 'correct horse battery'
const ADMIN = { username: 'basic-admin', password: 'admin password here' }
const LOGIN_LIMIT = 3
const adminEnv = { ADMIN_USERNAME: ADMIN.username, ADMIN_PASSWORD: ADMIN.password, RATE_LIMIT_LOGIN_ACCOUNT: `${LOGIN_LIMIT}/900` }
const plain = await startNode(t, 'basic_off', adminEnv)
const allowing = await startNode(t, 'basic_on', { ...adminEnv, ALLOW_BASIC_AUTH: 'true' })

const basic = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
const tokenByBasic = (url: string, authorization: string, headers: Record<string, string> = {}) =>
  request(url, 'POST', '/auth/token', { headers: { authorization, ...headers } })

async function account(url: string, password = PASSWORD) {
  return register(url, newUsername('basic'), password)
}

function answersDocumented(t: Test, res: { status: number; body: unknown; headers: Headers }, status: number, what: string) {
  t.equal(res.status, status, what)
  t.equal(errorShapeViolation({ status: res.status, contentType: res.headers.get('content-type') ?? undefined, body: JSON.stringify(res.body) }), undefined, `${what}: the documented body`)
}

t.test('POST /auth/token with Basic: tokens for the right password, as with a body', async (t) => {
  const password = 'pass:word with colons and ünïcödé'
  const user = await account(plain.url, password)
  const res = await tokenByBasic(plain.url, basic(user.username.toUpperCase(), password))
  t.equal(res.status, 200, 'the name in any letter case; the password is everything after the first colon, in UTF-8')
  t.equal(res.headers.get('cache-control'), 'no-store')
  t.match(res.body, { token_type: 'Bearer', access_token: String, refresh_token: /^[A-Za-z0-9_-]{43}$/ })
  t.equal((await request(plain.url, 'GET', '/api/me', { bearer: res.body.access_token })).body.username, user.username)
  const sessions = await request(plain.url, 'GET', '/auth/sessions', { bearer: res.body.access_token })
  t.match(sessions.body.sessions, [{ kind: 'token', current: true }, { kind: 'cookie' }], 'a token session of its own')
  t.equal((await tokenByBasic(plain.url, `bAsIc   ${Buffer.from(`${user.username}:${password}`).toString('base64')}`)).status, 200, 'the scheme in any case, spaces after it')
})

t.test('wrong credentials of every kind: the same 401 as a password login', async (t) => {
  const user = await account(plain.url)
  const passwordless = await register(plain.url, newUsername('nopass'))
  const attempts = [
    [newUsername('nobody'), PASSWORD],
    [user.username, 'wrong password!'],
    [user.username, PASSWORD + 'x'.repeat(60)],
    [passwordless.username, PASSWORD],
    [user.username, ''],
  ]
  for (const [username, password] of attempts) {
    const res = await tokenByBasic(plain.url, basic(username as string, password as string))
    t.same([res.status, res.body], [401, { status: 'unauthorised' }], `${username}:${password}`)
  }
  t.equal((await request(plain.url, 'GET', '/api/me', { headers: { authorization: basic(user.username, PASSWORD) } })).status, 401, 'Basic is no credential for /api')
})

t.test('Basic headers that do not decode to a username and a password are 400, saying why; never 5xx', async (t) => {
  const user = await account(plain.url)
  const cases: [string, string][] = [
    ['the scheme alone', 'Basic'],
    ['the scheme and spaces', 'Basic    '],
    ['two words', `Basic ${Buffer.from('a:b').toString('base64')} more`],
    ['not base64', 'Basic !!!!****'],
    ['base64 cut short', 'Basic YWJj='],
    ['not a multiple of 4', 'Basic YWJjZA'],
    ['no colon', `Basic ${Buffer.from(user.username).toString('base64')}`],
    ['an empty username', `Basic ${Buffer.from(`:${PASSWORD}`).toString('base64')}`],
    ['a colon only', `Basic ${Buffer.from(':').toString('base64')}`],
    ['not UTF-8', `Basic ${Buffer.from([0xff, 0xfe, 0x3a, 0x61]).toString('base64')}`],
    ['a NUL in the username', basic('a\u0000b', PASSWORD)],
    ['a username of 65 characters', basic('u'.repeat(65), PASSWORD)],
    ['a password of 257 characters', basic(user.username, 'p'.repeat(257))],
  ]
  for (const [what, authorization] of cases) {
    const res = await tokenByBasic(plain.url, authorization)
    answersDocumented(t, res, 400, what)
    t.type(res.body.message, 'string', `${what}: ${res.body.message}`)
  }
  const both = await request(plain.url, 'POST', '/auth/token', { headers: { authorization: basic(user.username, PASSWORD) }, body: { username: user.username, password: PASSWORD } })
  answersDocumented(t, both, 400, 'a password both in the body and as Basic')
})

t.test('Basic failures count against the same login limits as every password login, and reset the same way', async (t) => {
  const user = await account(plain.url)
  for (let i = 0; i < LOGIN_LIMIT; i++) t.equal((await tokenByBasic(plain.url, basic(user.username, `wrong ${i}`))).status, 401)
  const limited = await tokenByBasic(plain.url, basic(user.username, PASSWORD))
  answersDocumented(t, limited, 429, 'at the limit even the right password')
  t.match(limited.headers.get('retry-after'), /^[1-9]\d*$/)
  t.equal((await request(plain.url, 'POST', '/auth/login', { body: { username: user.username, password: PASSWORD } })).status, 429, 'and a login with a body: one count')

  const mixed = await account(plain.url)
  await request(plain.url, 'POST', '/auth/login', { body: { username: mixed.username, password: 'wrong one' } })
  await request(plain.url, 'POST', '/auth/token', { body: { username: mixed.username, password: 'wrong two' } })
  t.equal((await tokenByBasic(plain.url, basic(mixed.username, PASSWORD))).status, 200, 'under the limit, the right password resets the count')
  await request(plain.url, 'POST', '/auth/login', { body: { username: mixed.username, password: 'wrong three' } })
  await request(plain.url, 'POST', '/auth/login', { body: { username: mixed.username, password: 'wrong four' } })
  t.equal((await tokenByBasic(plain.url, basic(mixed.username, 'wrong five'))).status, 401)
  t.equal((await tokenByBasic(plain.url, basic(mixed.username, PASSWORD))).status, 429, 'failures by body and by Basic add up')
})

t.test('timing parity: an unknown user costs a Basic sign-in as much as a wrong password (one bcrypt comparison)', async (t) => {
  const user = await account(plain.url)
  const timed = async (authorization: string) => {
    const started = performance.now()
    const res = await tokenByBasic(plain.url, authorization)
    t.equal(res.status, 401)
    return performance.now() - started
  }
  const unknown: number[] = []
  const wrong: number[] = []
  // Under the account limit: a fresh wrong password resets nothing, so two per round at most.
  for (let round = 0; round < 5; round++) {
    unknown.push(await timed(basic(newUsername('nobody'), PASSWORD)))
    if (round < LOGIN_LIMIT - 1) wrong.push(await timed(basic(user.username, `wrong ${round}`)))
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
  const frees: number[] = []
  for (let round = 0; round < 5; round++) {
    const started = performance.now()
    await request(plain.url, 'GET', '/healthz')
    frees.push(performance.now() - started)
  }
  const free = median(frees)
  t.ok(median(unknown) > free * 2 && median(unknown) >= median(wrong) / 3, `unknown user ${median(unknown).toFixed(1)} ms, wrong password ${median(wrong).toFixed(1)} ms, a request that does no bcrypt ${free.toFixed(1)} ms`)
})

t.test('admin routes refuse Basic (401) on a node without ALLOW_BASIC_AUTH, even the right admin password', async (t) => {
  const res = await request(plain.url, 'GET', '/admin/users', { headers: { authorization: basic(ADMIN.username, ADMIN.password) } })
  answersDocumented(t, res, 401, 'Basic to an admin route')
  const cookie = await login(plain.url, ADMIN.username, ADMIN.password)
  t.equal((await request(plain.url, 'GET', '/admin/users', { cookie })).status, 200, 'the same admin with a session')
  t.equal((await request(plain.url, 'GET', '/admin/users', { headers: { authorization: 'Basic !!!' } })).status, 401, 'a malformed one too: Basic is no credential here')
})

t.test('with ALLOW_BASIC_AUTH=true admin routes take an admin\'s Basic; a user\'s is 403, a wrong one 401, a malformed one 400', async (t) => {
  const url = allowing.url
  const admin = basic(ADMIN.username, ADMIN.password)
  const listed = await request(url, 'GET', '/admin/users', { headers: { authorization: admin } })
  t.equal(listed.status, 200)
  t.ok(listed.body.users.some((u: any) => u.username === ADMIN.username))
  const created = await request(url, 'POST', '/admin/users', { headers: { authorization: admin }, body: { username: newUsername('made'), password: PASSWORD } })
  t.equal(created.status, 201, 'an admin creates a user with Basic')
  const patched = await request(url, 'PATCH', `/admin/users/${created.body.id}`, { headers: { authorization: admin }, body: { displayName: 'Made' } })
  t.equal(patched.body.displayName, 'Made', 'and changes one')

  const user = await account(url)
  answersDocumented(t, await request(url, 'GET', '/admin/users', { headers: { authorization: basic(user.username, PASSWORD) } }), 403, "a user's right password")
  answersDocumented(t, await request(url, 'GET', '/admin/users', { headers: { authorization: basic(ADMIN.username, 'not the password') } }), 401, 'a wrong password')
  answersDocumented(t, await request(url, 'GET', '/admin/users', { headers: { authorization: `Basic ${Buffer.from('no colon').toString('base64')}` } }), 400, 'no colon')
  t.equal((await request(url, 'GET', '/api/me', { headers: { authorization: admin } })).status, 401, 'Basic is still no credential for /api')
})

t.test('admin Basic is held to the CSRF rule (a browser may resend Basic on its own) and to the login limits', async (t) => {
  const url = allowing.url
  const admin = basic(ADMIN.username, ADMIN.password)
  const form = await request(url, 'POST', '/admin/users', { headers: { authorization: admin, 'content-type': 'application/x-www-form-urlencoded' }, rawBody: 'username=csrf' })
  answersDocumented(t, form, 415, 'a form')
  const foreign = await request(url, 'POST', '/admin/users', { headers: { authorization: admin, origin: 'https://evil.example' }, body: { username: newUsername('csrf') } })
  answersDocumented(t, foreign, 403, 'a foreign Origin')

  const second = await request(url, 'POST', '/admin/users', { headers: { authorization: admin }, body: { username: newUsername('admin'), password: PASSWORD, role: 'admin' } })
  const secondBasic = (password: string) => basic(second.body.username, password)
  for (let i = 0; i < LOGIN_LIMIT; i++) t.equal((await request(url, 'GET', '/admin/users', { headers: { authorization: secondBasic(`wrong ${i}`) } })).status, 401)
  answersDocumented(t, await request(url, 'GET', '/admin/users', { headers: { authorization: secondBasic(PASSWORD) } }), 429, 'past the account limit')
})
