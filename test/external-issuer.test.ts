import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type CryptoKey, type JWK, SignJWT, base64url, exportJWK, generateKeyPair } from 'jose'
import pg from 'pg'
import t from 'tap'
import { startNode } from './helpers/in-process.js'
import { newUsername, register, request, sessionCookieOf } from './helpers/http-client.js'

const ISSUER = 'https://host-site.example'
const AUDIENCE = 'chat'
const SECRET = 'a shared secret of at least thirty-two bytes'

// The host site's keys, published from a local server: nothing leaves the machine.
const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid: 'site-1', alg: 'RS256', use: 'sig' }
let jwksRequests = 0
const jwksServer = createServer((_req, res) => {
  jwksRequests++
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify({ keys: [publicJwk] }))
})
await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve))
t.teardown(() => jwksServer.close())
const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`

const node = await startNode(t, 'external', { EXTERNAL_JWT_ISSUER: ISSUER, EXTERNAL_JWT_AUDIENCE: AUDIENCE, EXTERNAL_JWT_JWKS_URL: jwksUrl })
const url = node.url

interface Options {
  claims?: Record<string, unknown>
  key?: CryptoKey | Uint8Array
  alg?: string
  kid?: string
  exp?: number | 'none'
}

/** A token as the host site signs it, with anything changed. */
function siteToken(subject: string, options: Options = {}): Promise<string> {
  const builder = new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: subject, ...options.claims })
    .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: options.kid ?? 'site-1' })
    .setIssuedAt()
  if (options.exp !== 'none') builder.setExpirationTime(options.exp ?? '5m')
  return builder.sign(options.key ?? privateKey)
}

async function signIn(baseUrl: string, token: string) {
  const res = await request(baseUrl, 'POST', '/auth/external', { body: { token } })
  const cookie = sessionCookieOf(res)
  return { status: res.status, cookie, me: cookie ? (await request(baseUrl, 'GET', '/api/me', { cookie })).body : undefined }
}

t.test("a valid token of the trusted issuer signs the user in; the first one creates the account", async (t) => {
  const name = newUsername('site')
  const first = await signIn(url, await siteToken('subject-1', { claims: { preferred_username: name, name: 'Site User' } }))
  t.equal(first.status, 200)
  t.match(first.me, { username: name, displayName: 'Site User', external: true, hasPassword: false, role: 'user' })
  t.ok(jwksRequests >= 1, 'the keys came from the local JWKS server')

  const again = await signIn(url, await siteToken('subject-1', { claims: { preferred_username: 'renamed-there' } }))
  t.not(again.cookie, first.cookie, 'a new session')
  t.equal(again.me.id, first.me.id, 'the same subject is the same user')
  t.equal(again.me.username, name, 'the account keeps its name')

  const namesake = await signIn(url, await siteToken('subject-2', { claims: { preferred_username: name } }))
  t.not(namesake.me.id, first.me.id, 'another subject is another user, even under the same name')
  t.match(namesake.me.username, new RegExp(`^${name}-\\d+$`))
})

t.test('a token never takes over a local account of the same name', async (t) => {
  const local = await register(url, newUsername('local'), 'correct horse battery')
  const visitor = await signIn(url, await siteToken('subject-3', { claims: { preferred_username: local.username } }))
  t.equal(visitor.status, 200)
  t.not(visitor.me.username, local.username)
  t.equal((await request(url, 'GET', '/api/me', { cookie: local.cookie })).body.external, false)
  const anonymous = await signIn(url, await siteToken('subject-4'))
  t.match(anonymous.me.username, /^user/, 'a token without a name claim gets a generated one')
})

t.test('bad tokens are 401 and create nothing', async (t) => {
  const { privateKey: otherKey } = await generateKeyPair('RS256')
  const good = await siteToken('subject-bad')
  const [header, payload] = good.split('.') as [string, string]
  const hmacWithPublic = new TextEncoder().encode(JSON.stringify(publicJwk))
  const bad: [string, string][] = [
    ['wrong iss', await siteToken('s', { claims: { iss: 'https://other.example' } })],
    ['wrong aud', await siteToken('s', { claims: { aud: 'someone-else' } })],
    ['expired', await siteToken('s', { exp: Math.floor(Date.now() / 1000) - 60 })],
    ['no exp', await siteToken('s', { exp: 'none' })],
    ['no sub', await siteToken('', {})],
    ['signed by another key', await siteToken('s', { key: otherKey })],
    ['an unknown kid', await siteToken('s', { kid: 'site-2' })],
    ['HS256 signed with the public key', await siteToken('s', { alg: 'HS256', key: hmacWithPublic })],
    ['alg none', `${base64url.encode(JSON.stringify({ alg: 'none' }))}.${payload}.`],
    ['a tampered payload', `${header}.${base64url.encode(JSON.stringify({ iss: ISSUER, aud: AUDIENCE, sub: 'admin', exp: 9e9 }))}.${good.split('.')[2]}`],
  ]
  for (const [what, token] of bad) {
    const res = await request(url, 'POST', '/auth/external', { body: { token } })
    t.same([res.status, res.body], [401, { status: 'unauthorised' }], what)
  }
  for (const body of [{}, { token: 'not a jwt' }, { token: 5 }]) {
    t.equal((await request(url, 'POST', '/auth/external', { body })).status, 400, JSON.stringify(body))
  }
})

t.test("a disabled account's tokens no longer sign it in", async (t) => {
  const user = await signIn(url, await siteToken('subject-disabled'))
  const client = new pg.Client({ connectionString: node.config.databaseUrl })
  await client.connect()
  await client.query('UPDATE users SET disabled_at = now() WHERE id = $1', [user.me.id])
  await client.end()
  t.equal((await signIn(url, await siteToken('subject-disabled'))).status, 401)
})

t.test('an HMAC-configured issuer accepts HS256 and nothing else', async (t) => {
  const hmacNode = await startNode(t, 'external_hmac', { EXTERNAL_JWT_ISSUER: ISSUER, EXTERNAL_JWT_AUDIENCE: AUDIENCE, EXTERNAL_JWT_SECRET: SECRET })
  const secret = new TextEncoder().encode(SECRET)
  const signedIn = await signIn(hmacNode.url, await siteToken('hmac-subject', { alg: 'HS256', key: secret, claims: { preferred_username: 'hmacuser' } }))
  t.same([signedIn.status, signedIn.me.username], [200, 'hmacuser'])
  t.equal((await signIn(hmacNode.url, await siteToken('hmac-subject'))).status, 401, 'an RS256 token')
  t.equal((await signIn(hmacNode.url, await siteToken('hmac-subject', { alg: 'HS256', key: new TextEncoder().encode(`${SECRET}!`) }))).status, 401, 'another secret')
})

t.test('without a trusted issuer, /auth/external does not exist', async (t) => {
  const plain = await startNode(t, 'external_none')
  t.equal((await request(plain.url, 'POST', '/auth/external', { body: { token: await siteToken('x') } })).status, 404)
})
