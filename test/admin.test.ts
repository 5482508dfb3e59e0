import t from 'tap'
import { startNode } from './helpers/in-process.js'
import { createConversation, login, newUsername, postMessage, register, request, tokensFor } from './helpers/http-client.js'

const ADMIN = { username: 'root-admin', password: 'bootstrap password' }
const PASSWORD = 'correct horse battery'
const node = await startNode(t, 'admin', { SESSION_CACHE_MS: '0', ADMIN_USERNAME: ADMIN.username, ADMIN_PASSWORD: ADMIN.password })
const url = node.url
const admin = await login(url, ADMIN.username, ADMIN.password)

const me = (cookie: string) => request(url, 'GET', '/api/me', { cookie })
const patch = (id: number, body: unknown) => request(url, 'PATCH', `/admin/users/${id}`, { cookie: admin, body })
const userId = async (cookie: string): Promise<number> => (await me(cookie)).body.id

t.test('the first admin comes from ADMIN_USERNAME and ADMIN_PASSWORD', async (t) => {
  t.match((await me(admin)).body, { username: ADMIN.username, role: 'admin' })
})

t.test('admin routes: 401 without a credential, 403 for a user who is not an admin', async (t) => {
  const plain = await register(url)
  const id = await userId(plain.cookie)
  const routes: [string, string, unknown?][] = [
    ['POST', '/admin/users', { username: newUsername() }],
    ['GET', '/admin/users'],
    ['GET', `/admin/users/${id}`],
    ['PATCH', `/admin/users/${id}`, { role: 'admin' }],
    ['DELETE', `/admin/users/${id}`],
  ]
  for (const [method, path, body] of routes) {
    t.equal((await request(url, method, path, { body })).status, 401, `${method} ${path} anonymous`)
    t.equal((await request(url, method, path, { cookie: plain.cookie, body })).status, 403, `${method} ${path} as a user`)
  }
  t.equal((await me(plain.cookie)).body.role, 'user', 'nothing changed')
})

t.test('an admin creates, lists, reads and pages users', async (t) => {
  const username = newUsername('made')
  const created = await request(url, 'POST', '/admin/users', { cookie: admin, body: { username, password: PASSWORD, displayName: 'Made' } })
  t.equal(created.status, 201)
  t.match(created.body, { username, displayName: 'Made', role: 'user', disabled: false, hasPassword: true, external: false })
  t.equal((await me(await login(url, username, PASSWORD))).body.id, created.body.id, 'the new user can log in')
  t.equal((await request(url, 'POST', '/admin/users', { cookie: admin, body: { username } })).status, 409, 'a taken name')
  for (const body of [{ username: 'x' }, { username, password: 'p'.repeat(73) }, { username: newUsername(), role: 'root' }]) {
    t.equal((await request(url, 'POST', '/admin/users', { cookie: admin, body })).status, 400, JSON.stringify(body))
  }
  t.equal((await request(url, 'GET', `/admin/users/${created.body.id}`, { cookie: admin })).body.username, username)
  t.equal((await request(url, 'GET', '/admin/users/424242', { cookie: admin })).status, 404)

  const all: string[] = []
  let after: string | null = '0'
  while (after !== null) {
    const page: any = await request(url, 'GET', `/admin/users?limit=2&after=${after}`, { cookie: admin })
    t.ok(page.body.users.length <= 2)
    all.push(...page.body.users.map((u: any) => u.username))
    after = page.body.next
  }
  t.ok(all.includes(ADMIN.username) && all.includes(username), 'paging reaches every user')
  t.equal(new Set(all).size, all.length, 'no user twice')
  for (const query of ['limit=0', 'limit=201', 'after=-1', 'after=x']) {
    t.equal((await request(url, 'GET', `/admin/users?${query}`, { cookie: admin })).status, 400, query)
  }
})

t.test('renaming or resetting a password signs the user out; the new name and password work', async (t) => {
  const user = await register(url, newUsername('ren'), PASSWORD)
  const id = await userId(user.cookie)
  const renamed = newUsername('renamed')
  t.equal((await patch(id, { username: renamed })).body.username, renamed)
  t.equal((await me(user.cookie)).status, 401, 'signed out everywhere')
  const taken = await patch(id, { username: ADMIN.username.toUpperCase() })
  t.equal(taken.status, 409, 'a taken name, in any case')

  const cookie = await login(url, renamed, PASSWORD)
  t.equal((await patch(id, { password: 'a reset password' })).status, 200)
  t.equal((await me(cookie)).status, 401)
  t.equal((await request(url, 'POST', '/auth/login', { body: { username: renamed, password: PASSWORD } })).status, 401, 'the old password')
  t.equal((await me(await login(url, renamed, 'a reset password'))).status, 200, 'the new one')
  for (const body of [{}, { password: 'short' }, { disabled: 'yes' }, { username: 'bad name!' }, { extra: 1 }]) {
    t.equal((await patch(id, body)).status, 400, JSON.stringify(body))
  }
  t.equal((await patch(999999, { displayName: 'x' })).status, 404)
})

t.test("disabling a user ends its cookies and tokens; enabling lets it log in again", async (t) => {
  const user = await register(url, newUsername('dis'), PASSWORD)
  const id = await userId(user.cookie)
  const tokens = await tokensFor(url, user.username, PASSWORD)
  t.equal((await patch(id, { disabled: true })).body.disabled, true)
  t.equal((await me(user.cookie)).status, 401, 'the cookie')
  t.equal((await request(url, 'GET', '/api/me', { bearer: tokens.access_token })).status, 401, 'the access token')
  t.equal((await request(url, 'POST', '/auth/token/refresh', { body: { refresh_token: tokens.refresh_token } })).status, 401, 'the refresh token')
  const denied = await request(url, 'POST', '/auth/login', { body: { username: user.username, password: PASSWORD } })
  t.same([denied.status, denied.body], [401, { status: 'unauthorised' }], 'login says no more than for a wrong password')
  t.equal((await patch(id, { disabled: false })).body.disabled, false)
  t.equal((await me(await login(url, user.username, PASSWORD))).status, 200)
})

t.test('roles: an admin promotes another; no admin disables, demotes or deletes themselves', async (t) => {
  const second = await register(url, newUsername('second'), PASSWORD)
  const id = await userId(second.cookie)
  t.equal((await patch(id, { role: 'admin' })).body.role, 'admin')
  const secondAdmin = await login(url, second.username, PASSWORD)
  t.equal((await request(url, 'GET', '/admin/users', { cookie: secondAdmin })).status, 200, 'the promoted user is an admin')
  const self = await userId(admin)
  for (const body of [{ disabled: true }, { role: 'user' }]) t.equal((await patch(self, body)).status, 400, JSON.stringify(body))
  t.equal((await request(url, 'DELETE', `/admin/users/${self}`, { cookie: admin })).status, 400)
  t.equal((await me(admin)).body.role, 'admin', 'still an admin, still signed in')
})

t.test('deleting a user ends its sessions, frees its name, and keeps its messages under a placeholder', async (t) => {
  const gone = await register(url, newUsername('gone'), PASSWORD)
  const id = await userId(gone.cookie)
  const reader = await register(url)
  const conversation = await createConversation(url, reader.cookie)
  await postMessage(url, gone.cookie, conversation.id, 'still here')
  const tokens = await tokensFor(url, gone.username, PASSWORD)

  t.same((await request(url, 'DELETE', `/admin/users/${id}`, { cookie: admin })).body, { status: 'success' })
  t.equal((await me(gone.cookie)).status, 401)
  t.equal((await request(url, 'GET', '/api/me', { bearer: tokens.access_token })).status, 401)
  t.equal((await request(url, 'POST', '/auth/login', { body: { username: gone.username, password: PASSWORD } })).status, 401)
  const history = await request(url, 'GET', `/api/conversations/${conversation.id}`, { cookie: reader.cookie })
  t.same(history.body.messages.map((m: any) => [m.user, m.text]), [[`[deleted-${id}]`, 'still here']])
  t.equal((await request(url, 'GET', `/admin/users/${id}`, { cookie: admin })).status, 404)
  t.equal((await request(url, 'DELETE', `/admin/users/${id}`, { cookie: admin })).status, 404, 'deleting twice')
  t.equal((await request(url, 'POST', '/auth/register', { body: { username: gone.username } })).status, 201, 'the name is free')
})

t.test('ADMIN_USERNAME never promotes an account that exists already', async (t) => {
  const squatter = await register(url, newUsername('squat'), PASSWORD)
  // A second node of the same deployment, configured with the squatter's name.
  const second = await startNode(t, 'admin_squat', {
    DATABASE_URL: node.config.databaseUrl,
    REDIS_PREFIX: node.config.redisPrefix,
    ADMIN_USERNAME: squatter.username,
    ADMIN_PASSWORD: 'whatever password',
  })
  t.equal((await request(second.url, 'POST', '/auth/login', { body: { username: squatter.username, password: 'whatever password' } })).status, 401)
  t.equal((await request(second.url, 'GET', '/api/me', { cookie: squatter.cookie })).body.role, 'user', 'not promoted')
})

t.test('users are paged to the end: a full last page says next: null', async (t) => {
  const everyone = await request(url, 'GET', '/admin/users?limit=200', { cookie: admin })
  const count = everyone.body.users.length
  t.ok(count >= 2 && count < 200, `${count} users, one page`)
  t.equal(everyone.body.next, null)
  t.equal((await request(url, 'GET', `/admin/users?limit=${count}`, { cookie: admin })).body.next, null, 'a page of exactly all of them')
  const first = await request(url, 'GET', `/admin/users?limit=${count - 1}`, { cookie: admin })
  t.type(first.body.next, 'string', 'one more follows')
  const last = await request(url, 'GET', `/admin/users?limit=1&after=${first.body.next}`, { cookie: admin })
  t.same([last.body.users.map((u: any) => u.id), last.body.next], [[everyone.body.users[count - 1].id], null], 'the full last page ends the listing')
})
