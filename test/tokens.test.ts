import { createHmac } from 'node:crypto'
import { type JWK, SignJWT, base64url, generateKeyPair, importJWK } from 'jose'
import t from 'tap'
import { generateSigningJwk } from '../src/auth/signing-keys.js'
import { startNode } from './helpers/in-process.js'
import { newUsername, register, request, tokensFor } from './helpers/http-client.js'
import { testSigningJwk } from './helpers/node-env.js'
import { HandshakeRefused, TestSocket } from './helpers/ws-client.js'

const PASSWORD = 'correct horse battery'
// A key that was replaced still verifies; the node signs with the newest, its own test key.
const retiredJwk = await generateSigningJwk()
const currentJwk = await testSigningJwk()
const node = await startNode(t, 'tokens', { SESSION_CACHE_MS: '0', JWT_KEYS: JSON.stringify([retiredJwk, currentJwk]) })
const url = node.url

const me = (bearer: string) => request(url, 'GET', '/api/me', { bearer })
const jwtParts = (jwt: string) => jwt.split('.').map((part, i) => (i < 2 ? JSON.parse(Buffer.from(part, 'base64url').toString()) : part))

async function account() {
  const { username } = await register(url, newUsername('tok'), PASSWORD)
  return { username, tokens: await tokensFor(url, username, PASSWORD) }
}

/** A token as this node would sign it, with any claim or header changed. */
async function forge(jwk: JWK, claims: Record<string, unknown>, header: Record<string, unknown> = {}, expiresIn: string | number = '5m') {
  const alg = jwk.alg as string
  const builder = new SignJWT({ iss: 'chat-cluster', aud: 'chat-cluster', ...claims })
    .setProtectedHeader({ alg, kid: jwk.kid, typ: 'at+jwt', ...header })
    .setIssuedAt()
  if (expiresIn !== 'none') builder.setExpirationTime(expiresIn)
  return builder.sign(await importJWK(jwk, alg))
}

t.test('password → access and refresh token; the access token works on /api and /auth', async (t) => {
  const { username, tokens } = await account()
  t.match(tokens, { token_type: 'Bearer', expires_in: 900, access_token: String, refresh_token: /^[A-Za-z0-9_-]{43}$/ })
  const [header, payload] = jwtParts(tokens.access_token)
  t.same(header, { alg: 'EdDSA', kid: currentJwk.kid, typ: 'at+jwt' }, 'signed with the newest key, kid in the header')
  t.match(payload, { iss: 'chat-cluster', aud: 'chat-cluster', sub: String, sid: Number, exp: Number })
  t.equal((await me(tokens.access_token)).body.username, username)
  t.equal((await request(url, 'GET', '/api/conversations', { bearer: tokens.access_token })).status, 200)
  const created = await request(url, 'POST', '/api/conversations', { bearer: tokens.access_token, body: { title: 'by token' } })
  t.equal(created.status, 201, 'a bearer request needs no Origin or cookie')
  const sessions = await request(url, 'GET', '/auth/sessions', { bearer: tokens.access_token })
  t.match(sessions.body.sessions, [{ kind: 'token', current: true }, { kind: 'cookie', current: false }])
})

t.test('a session cookie gets tokens too; nothing at all gets 401', async (t) => {
  const alice = await register(url)
  const res = await request(url, 'POST', '/auth/token', { cookie: alice.cookie })
  t.equal(res.status, 200)
  t.equal(res.headers.get('cache-control'), 'no-store')
  t.equal((await me(res.body.access_token)).body.username, alice.username)
  t.equal((await request(url, 'POST', '/auth/token')).status, 401)
  const wrong = await request(url, 'POST', '/auth/token', { body: { username: alice.username, password: 'not a password' } })
  t.same([wrong.status, wrong.body], [401, { status: 'unauthorised' }])
})

t.test('the public keys are published as a JWKS, without private parts', async (t) => {
  const res = await request(url, 'GET', '/.well-known/jwks.json')
  t.equal(res.status, 200)
  t.same(
    res.body.keys.map((k: JWK) => [k.kid, k.alg, k.use, 'd' in k]),
    [
      [retiredJwk.kid, 'EdDSA', 'sig', false],
      [currentJwk.kid, 'EdDSA', 'sig', false],
    ],
  )
})

t.test('bad tokens are 401', async (t) => {
  const { tokens } = await account()
  const [, payload] = jwtParts(tokens.access_token)
  const claims = { sub: payload.sub, sid: payload.sid }
  t.equal((await me(await forge(retiredJwk, claims))).status, 200, 'a token of the retired key still verifies')

  const publicJwk = (await request(url, 'GET', '/.well-known/jwks.json')).body.keys[1]
  const unsigned = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt' }))}.${tokens.access_token.split('.')[1]}.`
  const hsHeader = base64url.encode(JSON.stringify({ alg: 'HS256', kid: currentJwk.kid, typ: 'at+jwt' }))
  const hsBody = tokens.access_token.split('.')[1]
  const hsSignature = (secret: string) => createHmac('sha256', secret).update(`${hsHeader}.${hsBody}`).digest('base64url')
  const [h, , s] = tokens.access_token.split('.')
  const tampered = `${h}.${base64url.encode(JSON.stringify({ ...payload, sub: String(Number(payload.sub) + 1) }))}.${s}`
  const { privateKey: strangerKey } = await generateKeyPair('EdDSA')
  const stranger = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'EdDSA', kid: currentJwk.kid, typ: 'at+jwt' })
    .setIssuer('chat-cluster')
    .setAudience('chat-cluster')
    .setExpirationTime('5m')
    .sign(strangerKey)

  const bad: [string, string][] = [
    ['alg none', unsigned],
    ['HS256 signed with the public key (JWK JSON)', `${hsHeader}.${hsBody}.${hsSignature(JSON.stringify(publicJwk))}`],
    ['HS256 signed with the public key (x)', `${hsHeader}.${hsBody}.${hsSignature(publicJwk.x)}`],
    ['an unknown kid', await forge(currentJwk, claims, { kid: 'no-such-key' })],
    ['expired', await forge(currentJwk, claims, {}, Math.floor(Date.now() / 1000) - 60)],
    ['no exp', await forge(currentJwk, claims, {}, 'none')],
    ['wrong iss', await forge(currentJwk, { ...claims, iss: 'someone-else' })],
    ['wrong aud', await forge(currentJwk, { ...claims, aud: 'another-service' })],
    ['a tampered payload', tampered],
    ['signed by a key nobody configured', stranger],
    ['no sid', await forge(currentJwk, { sub: payload.sub })],
    ['a sid of another user', await forge(currentJwk, { sub: String(Number(payload.sub) + 1), sid: payload.sid })],
    ['not a JWT', 'abc'],
  ]
  for (const [what, token] of bad) {
    const res = await me(token)
    t.same([res.status, res.body], [401, { status: 'unauthorised' }], what)
  }
  const other = await request(url, 'GET', '/api/me', { headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } })
  t.equal(other.status, 401, 'another scheme')
  const withCookie = await register(url)
  const both = await request(url, 'GET', '/api/me', { cookie: withCookie.cookie, bearer: unsigned })
  t.equal(both.status, 401, 'an invalid bearer token is not rescued by a valid cookie')
})

t.test('refresh rotates; a reused refresh token revokes its whole family', async (t) => {
  const { tokens } = await account()
  const first = await request(url, 'POST', '/auth/token/refresh', { body: { refresh_token: tokens.refresh_token } })
  t.equal(first.status, 200)
  t.not(first.body.refresh_token, tokens.refresh_token, 'a new refresh token')
  t.equal(jwtParts(first.body.access_token)[1].sid, jwtParts(tokens.access_token)[1].sid, 'the same family')
  t.equal((await me(first.body.access_token)).status, 200)

  const reused = await request(url, 'POST', '/auth/token/refresh', { body: { refresh_token: tokens.refresh_token } })
  t.same([reused.status, reused.body], [401, { status: 'unauthorised' }], 'the old token is refused')
  const current = await request(url, 'POST', '/auth/token/refresh', { body: { refresh_token: first.body.refresh_token } })
  t.equal(current.status, 401, 'and so is the newest one: the family is revoked')
  t.equal((await me(first.body.access_token)).status, 401, "and the family's access tokens")
  t.equal((await me(tokens.access_token)).status, 401)

  for (const body of [{}, { refresh_token: 'x' }, { refresh_token: 'A'.repeat(43) }, { refresh_token: 5 }])
    t.ok([400, 401].includes((await request(url, 'POST', '/auth/token/refresh', { body })).status), JSON.stringify(body))
})

t.test('DELETE /auth/token revokes by access token or by refresh token', async (t) => {
  const { username, tokens } = await account()
  t.same((await request(url, 'DELETE', '/auth/token', { bearer: tokens.access_token })).body, { status: 'success' })
  t.equal((await me(tokens.access_token)).status, 401)
  t.equal((await request(url, 'POST', '/auth/token/refresh', { body: { refresh_token: tokens.refresh_token } })).status, 401)

  const second = await tokensFor(url, username, PASSWORD)
  const res = await request(url, 'DELETE', '/auth/token', { body: { refresh_token: second.refresh_token } })
  t.equal(res.status, 200)
  t.equal((await me(second.access_token)).status, 401)
  t.equal((await request(url, 'DELETE', '/auth/token', { body: { refresh_token: 'A'.repeat(43) } })).status, 200, 'an unknown token is no error')
  t.equal((await request(url, 'DELETE', '/auth/token')).status, 401, 'no token at all')
})

t.test('WebSocket with a bearer token: as Authorization or as the subprotocol', async (t) => {
  const { username, tokens } = await account()
  const byHeader = await TestSocket.connect(url, { bearer: tokens.access_token })
  t.equal(byHeader.frames[0].user, username)
  const byProtocol = await TestSocket.open(url, { protocols: ['chat.v1', `bearer.${tokens.access_token}`], origin: 'https://elsewhere.example' })
  t.equal(byProtocol.ws.protocol, 'chat.v1', 'the server picks chat.v1 and never echoes the token')
  t.equal((await byProtocol.waitFor((f) => f.type === 'welcome', 'welcome')).user, username, 'a bearer socket may come from any origin')
  byHeader.close()
  byProtocol.close()

  for (const protocols of [['chat.v1', 'bearer.nonsense'], ['chat.v1', `bearer.${tokens.access_token}x`]]) {
    const refused = await TestSocket.open(url, { protocols }).catch((err: unknown) => err)
    t.ok(refused instanceof HandshakeRefused && refused.status === 401, String(protocols[1]))
  }
})

t.test('an access token, or any other string that is not a live refresh token, sent to refresh is 401', async (t) => {
  const { tokens } = await account()
  const cases: [string, string][] = [
    ['the access token', tokens.access_token],
    ['a long string', 'x'.repeat(5000)],
    ['an empty string', ''],
    ['the refresh token with a character more', `${tokens.refresh_token}A`],
  ]
  for (const [what, refresh_token] of cases) {
    const res = await request(url, 'POST', '/auth/token/refresh', { body: { refresh_token } })
    t.same([res.status, res.body], [401, { status: 'unauthorised' }], what)
  }
  t.equal((await request(url, 'POST', '/auth/token/refresh', { body: { refresh_token: tokens.refresh_token } })).status, 200, 'the refresh token still works')
  const revoked = await request(url, 'DELETE', '/auth/token', { body: { refresh_token: tokens.access_token } })
  t.equal(revoked.status, 200, 'revoking by an access token in place of a refresh token is no error either (RFC 7009)')
})
