import pg from 'pg'
import t from 'tap'
import { startCluster } from './helpers/cluster.js'
import { login, newUsername, register, request, tokensFor } from './helpers/http-client.js'
import { TestSocket } from './helpers/ws-client.js'

const ADMIN = { username: 'cluster-admin', password: 'bootstrap password' }
const PASSWORD = 'correct horse battery'
// Sessions cached for a minute, so that only the cluster-wide eviction can explain a prompt 401;
// open sockets' sessions checked every second. Logs at info, to be searched for secrets.
const nodes = await startCluster(t, 'revocation', 2, {
  SESSION_CACHE_MS: '60000',
  SESSION_CHECK_SECONDS: '1',
  LOG_LEVEL: 'info',
  ADMIN_USERNAME: ADMIN.username,
  ADMIN_PASSWORD: PASSWORD,
})
const [a, b] = nodes.map((n) => n.url) as [string, string]
const secrets: string[] = [PASSWORD]

const me = (url: string, credential: { cookie?: string; bearer?: string }) => request(url, 'GET', '/api/me', credential)
const SESSION_ENDED = { code: 4001, reason: 'session ended' }

async function signedIn(url: string, cookie: string): Promise<TestSocket> {
  secrets.push(cookie.slice(4))
  t.equal((await me(url, { cookie })).status, 200, 'known to this node, and now in its cache')
  return TestSocket.connect(url, cookie)
}

async function isOpen(socket: TestSocket): Promise<boolean> {
  const pong = await socket.call({ type: 'ping', id: `p${Math.random()}` }).catch(() => undefined)
  return pong?.type === 'pong'
}

t.test('logout on one node closes the session’s sockets on another and ends its cookie there', async (t) => {
  const user = await register(a, newUsername('out'), PASSWORD)
  const onB = await signedIn(b, user.cookie)
  const otherDevice = await signedIn(b, await login(a, user.username, PASSWORD))
  t.equal((await request(a, 'POST', '/auth/logout', { cookie: user.cookie })).status, 200)
  t.same(await onB.waitForClose(), SESSION_ENDED)
  t.equal((await me(b, { cookie: user.cookie })).status, 401, "b's cached entry was evicted")
  t.ok(await isOpen(otherDevice), "the user's other session keeps its socket")
  otherDevice.close()
})

t.test('revoking a device closes its sockets on every node, and only its own', async (t) => {
  const user = await register(a, newUsername('dev'), PASSWORD)
  const phone = await login(b, user.username, PASSWORD)
  const phoneSockets = [await signedIn(a, phone), await signedIn(b, phone)]
  const laptop = await signedIn(b, user.cookie)
  const sessions = await request(a, 'GET', '/auth/sessions', { cookie: user.cookie })
  const phoneSession = sessions.body.sessions.find((s: any) => !s.current)
  t.equal((await request(a, 'DELETE', `/auth/sessions/${phoneSession.id}`, { cookie: user.cookie })).status, 200)
  for (const socket of phoneSockets) t.same(await socket.waitForClose(), SESSION_ENDED)
  t.equal((await me(b, { cookie: phone })).status, 401)
  t.ok(await isOpen(laptop))
  laptop.close()
})

t.test("disabling a user closes all of its sockets, cookie and bearer, on every node", async (t) => {
  const admin = await login(a, ADMIN.username, PASSWORD)
  const user = await register(b, newUsername('dis'), PASSWORD)
  const tokens = await tokensFor(b, user.username, PASSWORD)
  secrets.push(tokens.access_token, tokens.refresh_token, admin.slice(4))
  t.equal((await me(b, { bearer: tokens.access_token })).status, 200)
  const sockets = [await signedIn(a, user.cookie), await signedIn(b, user.cookie), await TestSocket.connect(b, { bearer: tokens.access_token })]
  const id = (await me(a, { cookie: user.cookie })).body.id
  t.equal((await request(a, 'PATCH', `/admin/users/${id}`, { cookie: admin, body: { disabled: true } })).status, 200)
  for (const socket of sockets) t.same(await socket.waitForClose(), SESSION_ENDED)
  t.equal((await me(b, { cookie: user.cookie })).status, 401, 'the cookie')
  t.equal((await me(b, { bearer: tokens.access_token })).status, 401, 'the access token')
})

t.test('a reused refresh token closes the family’s sockets on every node', async (t) => {
  const user = await register(a, newUsername('reuse'), PASSWORD)
  const tokens = await tokensFor(a, user.username, PASSWORD)
  const rotated = await request(a, 'POST', '/auth/token/refresh', { body: { refresh_token: tokens.refresh_token } })
  secrets.push(tokens.refresh_token, rotated.body.refresh_token, rotated.body.access_token)
  const socket = await TestSocket.connect(b, { bearer: rotated.body.access_token })
  t.equal((await request(b, 'POST', '/auth/token/refresh', { body: { refresh_token: tokens.refresh_token } })).status, 401)
  t.same(await socket.waitForClose(), SESSION_ENDED)
})

t.test('a socket closes when its session expires or ends behind the cluster’s back', async (t) => {
  const expiring = await register(a, newUsername('exp'), PASSWORD)
  const deleted = await register(a, newUsername('del'), PASSWORD)
  const sockets = [await signedIn(b, expiring.cookie), await signedIn(b, deleted.cookie)]
  const client = new pg.Client({ connectionString: nodes.databaseUrl })
  await client.connect()
  await client.query(`UPDATE sessions SET expires_at = now() WHERE user_id = (SELECT id FROM users WHERE username = $1)`, [expiring.username])
  // No control message: as if the stream had lost it. The periodic check finds it.
  await client.query(`DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = $1)`, [deleted.username])
  await client.end()
  for (const socket of sockets) t.same(await socket.waitForClose(), SESSION_ENDED)
})

t.test('an open socket counts as use: its session does not go idle', async (t) => {
  const user = await register(a, newUsername('idle'))
  const socket = await signedIn(b, user.cookie)
  const client = new pg.Client({ connectionString: nodes.databaseUrl })
  await client.connect()
  t.teardown(() => client.end())
  const lastSeen = async () =>
    (await client.query(`SELECT now() - last_seen_at AS ago FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = $1)`, [user.username]))
      .rows[0].ago
  // Unused for almost the idle limit (7 days), as far as Postgres knows.
  await client.query(`UPDATE sessions SET last_seen_at = now() - interval '6 days 23 hours' WHERE user_id = (SELECT id FROM users WHERE username = $1)`, [user.username])
  for (let i = 0; i < 100 && (await lastSeen()).days; i++) await new Promise((resolve) => setTimeout(resolve, 100))
  t.notOk((await lastSeen()).days, "b's session check recorded the socket's session as used")
  t.ok(await isOpen(socket))
  socket.close()
})

t.test('no node logged a password, cookie or token', async (t) => {
  const lines = nodes.flatMap((n) => n.output)
  t.ok(lines.some((line) => line.includes('"url":"/api/me"')), 'requests were logged at info')
  for (const secret of secrets) t.notOk(lines.some((line) => line.includes(secret)), `${secret.slice(0, 6)}… is in no log line`)
})
