import t from 'tap'
import pg from 'pg'
import { SessionCache } from '../src/auth/session-cache.js'
import { startNode } from './helpers/in-process.js'
import { register, request } from './helpers/http-client.js'

const user = (userId: number) => ({ sessionId: userId, userId, username: `u${userId}`, role: 'user' as const })
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const inAnHour = () => new Date(Date.now() + 3_600_000)

t.test('the cache keeps a session for its TTL at most, and its oldest entries go first', async (t) => {
  const cache = new SessionCache({ ttlMs: 100, maxEntries: 2 })
  cache.set('a', user(1), inAnHour())
  cache.set('b', user(2), inAnHour())
  t.same(cache.get('a'), user(1))
  cache.set('c', user(3), inAnHour())
  t.equal(cache.get('a'), undefined, 'the oldest entry made room')
  t.same([cache.get('b'), cache.get('c')], [user(2), user(3)])
  await sleep(150)
  t.equal(cache.get('b'), undefined, 'past its TTL')

  const never = new SessionCache({ ttlMs: 0, maxEntries: 10 })
  never.set('a', user(1), inAnHour())
  t.equal(never.get('a'), undefined, 'a TTL of 0 caches nothing')
})

t.test('the cache never keeps a session past its own expiry', async (t) => {
  const cache = new SessionCache({ ttlMs: 60_000, maxEntries: 10 })
  cache.set('soon', user(1), new Date(Date.now() + 100))
  cache.set('gone', user(2), new Date(Date.now() - 1))
  t.same(cache.get('soon'), user(1))
  t.equal(cache.get('gone'), undefined)
  await sleep(150)
  t.equal(cache.get('soon'), undefined)
})

/** Moves a user's session expiry in Postgres, as time passing would. */
async function expireAt(databaseUrl: string, username: string, interval: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  await client.query(
    `UPDATE sessions SET expires_at = now() + $2::interval WHERE user_id = (SELECT id FROM users WHERE username = $1)`,
    [username, interval],
  )
  await client.end()
}

t.test('a node that caches sessions still refuses one once it has expired', async (t) => {
  const node = await startNode(t, 'session_cache', { SESSION_CACHE_MS: '60000' })
  const alice = await register(node.url)
  await expireAt(node.config.databaseUrl, alice.username, '1 second')
  t.equal((await request(node.url, 'GET', '/api/conversations', { cookie: alice.cookie })).status, 200, 'looked up, and now cached')
  t.equal((await request(node.url, 'GET', '/api/conversations', { cookie: alice.cookie })).status, 200, 'served from the cache')
  await sleep(1300)
  const late = await request(node.url, 'GET', '/api/conversations', { cookie: alice.cookie })
  t.same([late.status, late.body], [401, { status: 'unauthorised' }], 'the cached entry ended with the session')
})

t.test('with SESSION_CACHE_MS=0 every request asks Postgres', async (t) => {
  const node = await startNode(t, 'session_nocache', { SESSION_CACHE_MS: '0' })
  const bob = await register(node.url)
  t.equal((await request(node.url, 'GET', '/api/conversations', { cookie: bob.cookie })).status, 200)
  await expireAt(node.config.databaseUrl, bob.username, '-1 second')
  t.equal((await request(node.url, 'GET', '/api/conversations', { cookie: bob.cookie })).status, 401, 'refused at once')
})
