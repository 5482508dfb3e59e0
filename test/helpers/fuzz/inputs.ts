import fc from 'fast-check'

/**
 * Generators of malformed input for the fuzzer (bench/fuzz.ts) and its seeded test
 * (test/fuzz.test.ts): REST requests, raw HTTP bytes and WebSocket sessions. Cases name credentials
 * by role and form, not by value, so that a case stays valid when the runner signs in again.
 */

/** Real names and ids of the node under attack, known once it is seeded (see target.ts). */
export interface Seeds {
  /** host:port, for Host and Origin headers. */
  host: string
  usernames: string[]
  conversationIds: number[]
  messageIds: number[]
  /** A user the admin routes may rename, disable or delete; the fuzzer's own users are never aimed at. */
  victimUserId: number
}

/** Whose credential a case presents: the owner of the seeded conversations, another user, an admin, or nobody. */
export type Who = 'member' | 'outsider' | 'admin' | 'nobody'
export type CredentialForm = 'cookie' | 'bearer' | 'forged-cookie' | 'forged-bearer' | 'tampered-bearer' | 'other-scheme'
export interface Credential {
  who: Who
  form: CredentialForm
  /** For forged and other-scheme forms: the value to send. */
  forged: string
}

const NASTY = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\u202e',
  '\ufeff',
  '\r\n',
  '\t',
  'null',
  'true',
  '0',
  '-1',
  '1e309',
  'NaN',
  '../',
  '..%2f..%2f',
  '%00',
  "' OR 1=1 --",
  '"; DROP TABLE users; --',
  '<script>alert(1)</script>',
  '__proto__',
  'constructor',
  '{"$gt": ""}',
  '𝕏',
  'é',
  'ﬃ',
  'İ',
]

const utf16Unit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code))

/** Strings of every kind: control characters, NUL, lone surrogates, astral and combining characters, and long ones. */
const anyText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: utf16Unit, maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 40 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('a', 'é', '𝕏', ' ', '\u0000', '1'), fc.constantFrom(33, 65, 101, 201, 4001, 70_000))
      .map(([c, n]) => c.repeat(n)),
  },
)

const edgeNumbers = [0, -0, 1, -1, 0.5, 1.5, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 2 ** 64, 1e21, 1e308, -1e308, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 5e-324]
const anyNumber: fc.Arbitrary<number> = fc.oneof(fc.constantFrom(...edgeNumbers), fc.integer(), fc.double(), fc.nat({ max: 100 }))

/** Numbers JSON can spell but JavaScript cannot hold, or holds as another number. */
const RAW_NUMBERS = ['1e400', '-1e400', '123456789012345678901234567890', '9223372036854775808', '18446744073709551616', '1.0', '-0', '5e-324', '1E2', '0.1e1', '1.00000000000000000001']

const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: anyText },
  { weight: 3, arbitrary: anyNumber },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.array(fc.oneof(anyText, anyNumber), { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
)

/** A value that is plausible three times in four, and anything at all otherwise. */
const mostly = <T>(plausible: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ weight: 3, arbitrary: plausible }, { weight: 1, arbitrary: anyValue })

/** A value once in `oneIn` cases, undefined otherwise. */
const sometimes = <T>(value: fc.Arbitrary<T>, oneIn: number): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: value })

/** A name that passes registration's rules, so that some requests get past the schema. */
const wellFormedName = fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{2,12}$/)

const idText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('0', '-1', '1.5', '1e3', '0x10', '+1', '01', ' 1', '1 ', '١٢', 'abc', '', '..', 'null', '9007199254740993', '99999999999999999999', '1'.repeat(101)),
  fc.bigInt({ min: 0n, max: 2n ** 70n }).map(String),
  fc.integer({ min: 1_000_000, max: 2 ** 31 }).map(String),
  anyText,
)

const pick = <T>(values: readonly T[], otherwise: fc.Arbitrary<T>): fc.Arbitrary<T> =>
  values.length === 0 ? otherwise : fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...values) }, { weight: 1, arbitrary: otherwise })

const base64url = (text: string) => Buffer.from(text).toString('base64url')

const pad = (n: number, width: number) => String(n).padStart(width, '0')

/** Postgres-like timestamps with every field in or out of range: month 13, February 30, hour 29, year 0000, offset +99. */
const timestampText = fc
  .record({
    year: fc.oneof(fc.integer({ min: 0, max: 10_000 }), fc.constantFrom(0, 1, 2024, 2026)),
    month: fc.integer({ min: 0, max: 14 }),
    day: fc.integer({ min: 0, max: 32 }),
    hour: fc.integer({ min: 0, max: 30 }),
    minute: fc.integer({ min: 0, max: 61 }),
    second: fc.integer({ min: 0, max: 61 }),
    fraction: fc.option(fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 999_999 }) }, { weight: 1, arbitrary: fc.integer({ min: 1_000_000, max: 9_999_999 }) })),
    sign: fc.constantFrom('+', '-'),
    offsetHours: fc.integer({ min: 0, max: 99 }),
    offsetMinutes: fc.option(fc.integer({ min: 0, max: 99 })),
  })
  .map(
    (t) =>
      `${pad(t.year, 4)}-${pad(t.month, 2)}-${pad(t.day, 2)} ${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)}` +
      `${t.fraction === null ? '' : `.${t.fraction}`}${t.sign}${pad(t.offsetHours, 2)}${t.offsetMinutes === null ? '' : `:${pad(t.offsetMinutes, 2)}`}`,
  )

/** Inbox cursors the server never made. */
const forgedCursor: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(mostly(timestampText), mostly(fc.integer({ min: 1, max: 2 ** 31 })))
      .map((v) => base64url(JSON.stringify(v))),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => base64url(JSON.stringify(v))) },
  { weight: 1, arbitrary: anyText },
)

const jwtHeader = fc.oneof(
  fc.constantFrom({ alg: 'none' }, { alg: 'HS256', typ: 'JWT' }, { alg: 'EdDSA', kid: 'x' }, { alg: 'ES256', typ: 'at+jwt', kid: '../../etc/passwd' }, {}),
  fc.jsonValue({ maxDepth: 1 }),
)
const jwtClaims = fc.oneof(
  fc.record({ sub: fc.oneof(fc.constantFrom('1', '2', '3'), anyText), sid: fc.oneof(fc.nat({ max: 10 }), anyNumber), exp: anyNumber, iss: fc.constantFrom('chat-cluster', 'x'), aud: fc.constantFrom('chat-cluster', 'x') }),
  fc.jsonValue({ maxDepth: 2 }),
)
/** JWTs nobody signed: alg none, random claims, random signatures, wrong part counts. */
const forgedJwt: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(jwtHeader, jwtClaims, fc.uint8Array({ maxLength: 64 }))
    .map(([header, claims, signature]) => `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}.${Buffer.from(signature).toString('base64url')}`),
  fc.constantFrom('a.b.c', '..', 'a.b', 'a.b.c.d', 'e30.e30.', '', 'x'.repeat(9000)),
)

const credentialForm: fc.Arbitrary<CredentialForm> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom<CredentialForm>('cookie', 'bearer') },
  { weight: 1, arbitrary: fc.constantFrom<CredentialForm>('forged-cookie', 'forged-bearer', 'tampered-bearer', 'other-scheme') },
)

const credential: fc.Arbitrary<Credential> = fc.record({
  who: fc.constantFrom<Who>('member', 'member', 'outsider', 'admin', 'nobody'),
  form: credentialForm,
  forged: fc.oneof(forgedJwt, fc.base64String({ minLength: 40, maxLength: 48 }), anyText),
})

/** Reaction emoji: ones that count, ones that nearly do (unqualified, a lone flag half, two at once), and any text. */
const anyEmoji = fc.oneof(fc.constantFrom('👍', '❤️', '👨‍👩‍👧‍👦', '🏴󠁧󠁢󠁳󠁣󠁴󠁿', '❤', '🇫', '👍👍', '👍\u0000'), anyText)

/** Field names the routes read, so that generated bodies get past "unknown field" and reach the rules. */
const FIELD_VALUES = (seeds: Seeds): Record<string, fc.Arbitrary<unknown>> => ({
  username: pick(seeds.usernames, fc.oneof(wellFormedName, anyText)),
  password: fc.oneof(anyText, fc.constantFrom('correct horse battery', 'x'.repeat(73), 'é'.repeat(40))),
  currentPassword: anyText,
  title: anyText,
  kind: fc.constantFrom('open', 'private', 'public', 'direct', 'OPEN', ''),
  members: fc.array(pick(seeds.usernames, anyText), { maxLength: 5 }),
  text: anyText,
  seq: anyNumber,
  replyTo: fc.oneof(fc.nat({ max: 40 }), anyNumber),
  displayName: fc.oneof(anyText, fc.constant(null)),
  role: fc.constantFrom('user', 'admin', 'root', ''),
  disabled: fc.oneof(fc.boolean(), anyValue),
  refresh_token: fc.oneof(fc.base64String({ minLength: 43, maxLength: 44 }), anyText),
  token: forgedJwt,
  firstName: fc.oneof(anyText, fc.constant(null)),
  lastName: fc.oneof(anyText, fc.constant(null)),
  email: fc.oneof(anyText, fc.constantFrom(null, 'a@example.org', 'A@EXAMPLE.ORG', 'a..b@example.org', `${'a'.repeat(65)}@example.org`, 'a@[127.0.0.1]')),
  phone: fc.oneof(anyText, fc.constantFrom(null, '+12025550123', '+0123', '+1 202 555 0123')),
  expiresInSeconds: anyNumber,
  maxUses: anyNumber,
  emoji: anyEmoji,
})

/**
 * A JSON object with the route's own fields (each usually there, plausible or not), sometimes
 * another field a route knows, and sometimes a field nobody knows.
 */
function fieldObject(seeds: Seeds, names: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  const values = FIELD_VALUES(seeds)
  const entry = (name: string) => mostly(values[name]!).map((value): [string, unknown] => [name, value])
  const own = names.map((name) => fc.oneof({ weight: 4, arbitrary: entry(name) }, { weight: 1, arbitrary: fc.constant(undefined) }))
  const other = sometimes(fc.constantFrom(...Object.keys(values)).chain(entry), 5)
  const unknown = sometimes(fc.tuple(fc.constantFrom('__proto__', 'constructor', 'extra', 'id', ''), anyValue), 5)
  return fc.tuple(fc.tuple(...own), other, unknown).map(([entries, ...more]) => Object.fromEntries([...entries, ...more].filter((e) => e !== undefined)))
}

/** A request body as text: JSON of every shape, JSON that JavaScript reads differently, and text that is not JSON. */
function bodyText(seeds: Seeds, names: readonly string[]): fc.Arbitrary<string> {
  const json = fc.oneof({ weight: 4, arbitrary: fieldObject(seeds, names) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) }).map((v) => JSON.stringify(v) ?? 'null')
  return fc.oneof(
    { weight: 12, arbitrary: json },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...Object.keys(FIELD_VALUES(seeds))), fc.constantFrom(...RAW_NUMBERS)).map(([k, n]) => `{"${k}": ${n}}`) },
    { weight: 1, arbitrary: json.chain((text) => fc.nat({ max: text.length }).map((n) => text.slice(0, n))) },
    { weight: 1, arbitrary: anyText },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '{"__proto__": {"role": "admin"}}',
        '{"constructor": {"prototype": {"role": "admin"}}}',
        '{"text": "a", "text": 5}',
        '['.repeat(30_000) + ']'.repeat(30_000),
        `{"text": "${'x'.repeat(70_000)}"}`,
        '\ufeff{"text": "bom"}',
        '{"text": "\\ud800"}',
        '{"text": "\\u0000"}',
      ),
    },
  )
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'Application/JSON',
  'application/json;',
  'application/json, text/plain',
  'application/merge-patch+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'text/html',
  '',
  ';;;',
  'garbage',
]

/** Mostly JSON, so that bodies get past the content-type rules to the schemas and the handlers. */
const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  { weight: 3, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
  { weight: 1, arbitrary: fc.constant(undefined) },
)

/**
 * The routes: a `:name` in the path is a parameter, filled with real or junk values; `query` and
 * `body` name what the route reads.
 */
interface Route {
  method: string
  path: string
  query?: string[]
  body?: string[]
}
const ROUTES: readonly Route[] = [
  { method: 'POST', path: '/auth/register', body: ['username', 'password', 'firstName', 'lastName', 'email', 'phone'] },
  { method: 'POST', path: '/auth/login', body: ['username', 'password'] },
  { method: 'POST', path: '/auth/logout' },
  { method: 'POST', path: '/auth/password', body: ['password', 'currentPassword'] },
  { method: 'GET', path: '/auth/sessions' },
  { method: 'DELETE', path: '/auth/sessions/:junkId' },
  { method: 'POST', path: '/auth/token', body: ['username', 'password'] },
  { method: 'POST', path: '/auth/token/refresh', body: ['refresh_token'] },
  { method: 'DELETE', path: '/auth/token', body: ['refresh_token'] },
  { method: 'GET', path: '/.well-known/jwks.json' },
  { method: 'POST', path: '/auth/external', body: ['token'] },
  { method: 'GET', path: '/api/me' },
  { method: 'PATCH', path: '/api/me', body: ['displayName', 'firstName', 'lastName', 'email', 'phone'] },
  { method: 'GET', path: '/api/users/:username' },
  { method: 'POST', path: '/admin/users', body: ['username', 'password', 'role', 'displayName', 'email', 'phone'] },
  { method: 'GET', path: '/admin/users', query: ['after', 'limit'] },
  { method: 'GET', path: '/admin/users/:userId' },
  { method: 'PATCH', path: '/admin/users/:userId', body: ['username', 'password', 'displayName', 'role', 'disabled', 'firstName', 'email'] },
  { method: 'DELETE', path: '/admin/users/:userId' },
  { method: 'GET', path: '/api/conversations' },
  { method: 'POST', path: '/api/conversations', body: ['title', 'kind', 'members'] },
  { method: 'GET', path: '/api/conversations/:conversationId', query: ['N', 'limit', 'before', 'after'] },
  { method: 'POST', path: '/api/conversations/:conversationId', body: ['text', 'replyTo'] },
  { method: 'GET', path: '/api/conversations/:conversationId/:messageId' },
  { method: 'PATCH', path: '/api/conversations/:conversationId/:messageId', body: ['text'] },
  { method: 'DELETE', path: '/api/conversations/:conversationId/:messageId' },
  { method: 'GET', path: '/api/conversations/:conversationId/:messageId/replies', query: ['after', 'limit'] },
  { method: 'POST', path: '/api/conversations/:conversationId/:messageId/reactions', body: ['emoji'] },
  { method: 'DELETE', path: '/api/conversations/:conversationId/:messageId/reactions/:emoji' },
  { method: 'GET', path: '/api/conversations/:conversationId/members', query: ['after', 'limit'] },
  { method: 'POST', path: '/api/conversations/:conversationId/members', body: ['username'] },
  { method: 'DELETE', path: '/api/conversations/:conversationId/members/:username' },
  { method: 'POST', path: '/api/conversations/:conversationId/join' },
  { method: 'POST', path: '/api/conversations/:conversationId/leave' },
  { method: 'POST', path: '/api/conversations/:conversationId/read', body: ['seq'] },
  { method: 'POST', path: '/api/conversations/:conversationId/hide' },
  { method: 'GET', path: '/api/conversations/:conversationId/invites' },
  { method: 'POST', path: '/api/conversations/:conversationId/invites', body: ['expiresInSeconds', 'maxUses'] },
  { method: 'DELETE', path: '/api/conversations/:conversationId/invites/:junkId' },
  { method: 'GET', path: '/api/invites/:inviteToken' },
  { method: 'POST', path: '/api/invites/:inviteToken' },
  { method: 'GET', path: '/api/direct/:username' },
  { method: 'POST', path: '/api/direct/:username' },
  { method: 'GET', path: '/api/inbox', query: ['cursor', 'limit'] },
  { method: 'GET', path: '/api/blocks' },
  { method: 'POST', path: '/api/blocks', body: ['username'] },
  { method: 'DELETE', path: '/api/blocks/:username' },
  { method: 'GET', path: '/healthz' },
  { method: 'GET', path: '/readyz' },
  { method: 'GET', path: '/ws' },
]

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND', 'get', 'M-SEARCH', 'FOO']

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g
/** Percent-encoded as a browser would; a lone surrogate, which has no UTF-8, becomes U+FFFD first. */
const percentEncoded = (text: string) => encodeURIComponent(text.replace(LONE_SURROGATE, '\ufffd'))

/** A path segment as sent: percent-encoded, raw, or with broken escapes. */
function segment(value: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: value.map(percentEncoded) },
    { weight: 1, arbitrary: value.map((v) => v.replace(/[^\x21-\xff]/g, '').replace(/[/?#]/g, '')) },
    { weight: 1, arbitrary: fc.constantFrom('%zz', '%', '%C0%AF', '%E0%A4%A', '%00', '%2e%2e', '%ff%fe', '%u0041') },
  )
}

function paramValues(seeds: Seeds): Record<string, fc.Arbitrary<string>> {
  return {
    conversationId: pick(seeds.conversationIds.map(String), idText),
    messageId: pick(seeds.messageIds.map(String), idText),
    userId: fc.oneof(fc.constant(String(seeds.victimUserId)), idText),
    junkId: idText,
    inviteToken: fc.oneof(fc.base64String({ minLength: 43, maxLength: 44 }), anyText),
    username: pick(seeds.usernames, fc.oneof(wellFormedName, anyText)),
    emoji: anyEmoji,
  }
}

/** Values for each query parameter: numbers as text, in range or not, and for `cursor` forged cursors. */
const QUERY_VALUES: Record<string, fc.Arbitrary<string>> = {
  N: fc.oneof(fc.nat({ max: 120 }).map(String), idText),
  limit: fc.oneof(fc.nat({ max: 250 }).map(String), idText),
  before: fc.oneof(fc.nat({ max: 40 }).map(String), idText),
  after: fc.oneof(fc.nat({ max: 40 }).map(String), idText),
  cursor: forgedCursor,
}

/** A query string: some of the route's own parameters, and sometimes junk. */
function queryString(names: readonly string[]): fc.Arbitrary<string> {
  const own = names.map((name) => fc.option(QUERY_VALUES[name]!.map((v) => `${name}=${percentEncoded(v)}`), { nil: undefined, freq: 2 }))
  const junk = fc.constantFrom('&&', '=', 'a=%zz', 'limit', 'limit=1&limit=2', 'cursor=%', '%00=1', 'N[]=1', 'a[b]=c', '__proto__=1', `x=${'y'.repeat(5000)}`)
  return fc
    .tuple(fc.tuple(...own), sometimes(junk, 4))
    .map(([parts, extra]) => [...parts, extra].filter((p) => p !== undefined))
    .map((parts) => (parts.length ? `?${parts.join('&')}` : ''))
}

/** A route's path with its parameters and query filled, sometimes with something after it; or random segments. */
function requestTarget(seeds: Seeds): fc.Arbitrary<{ route: Route; path: string }> {
  const params = paramValues(seeds)
  const tail = fc.oneof({ weight: 15, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom('/', '//', '/extra', '/..', '/%2e%2e/admin/users', '.json', ';a=b') })
  const routed = fc.constantFrom(...ROUTES).chain((route) => {
    const parts = route.path.split('/').map((part) => (part.startsWith(':') ? segment(params[part.slice(1)] as fc.Arbitrary<string>) : fc.constant(part)))
    return fc.tuple(fc.tuple(...parts), tail, queryString(route.query ?? [])).map(([p, after, query]) => ({ route, path: p.join('/') + after + query }))
  })
  const random = fc.array(segment(anyText), { minLength: 1, maxLength: 4 }).map((parts) => ({ route: { method: 'GET', path: '' }, path: `/${parts.join('/')}` }))
  return fc.oneof({ weight: 15, arbitrary: routed }, { weight: 1, arbitrary: random })
}

/** Header values a client library will send: no CR, LF or NUL, nothing past Latin-1. */
export const headerValue = (text: string) => text.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?')

const EXTRA_HEADERS: readonly [string, fc.Arbitrary<string>][] = [
  ['accept', fc.constantFrom('*/*', 'text/html', 'application/xml', '')],
  ['accept-encoding', fc.constantFrom('gzip', 'br', 'identity;q=0', '*;q=0', 'garbage')],
  ['content-encoding', fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'garbage')],
  ['x-forwarded-for', fc.constantFrom('1.2.3.4', 'garbage', '::1, 10.0.0.1', '')],
  ['user-agent', anyText.map(headerValue)],
  ['range', fc.constantFrom('bytes=0-1', 'bytes=-5', 'garbage')],
  ['if-none-match', fc.constantFrom('*', '"x"', 'W/"y"')],
  ['x-http-method-override', fc.constantFrom('DELETE', 'PATCH')],
  ['cookie', anyText.map((v) => `sid=${headerValue(v)}; sid=x`)],
  ['x-junk', anyText.map(headerValue)],
]

export interface RestCase {
  method: string
  path: string
  credential: Credential
  /** Sent when set: the body's text, and its content type (or none). */
  body: { text: string; contentType: string | undefined } | undefined
  origin: string | undefined
  idempotencyKey: string | undefined
  headers: [string, string][]
}

export function restCase(seeds: Seeds): fc.Arbitrary<RestCase> {
  const otherMethod = sometimes(fc.constantFrom(...METHODS), 8)
  const body = (names: readonly string[]) =>
    fc.oneof({ weight: 1, arbitrary: fc.constant(undefined) }, { weight: 3, arbitrary: fc.record({ text: bodyText(seeds, names), contentType }) })
  return fc
    .tuple(requestTarget(seeds), otherMethod)
    .chain(([{ route, path }, method]) =>
      fc.record({
        method: fc.constant(method ?? route.method),
        path: fc.constant(path),
        credential,
        body: body(route.body ?? []),
        origin: sometimes(fc.constantFrom(`http://${seeds.host}`, 'https://evil.example', 'null', 'garbage', ''), 4),
        idempotencyKey: sometimes(fc.oneof(fc.stringMatching(/^[a-z0-9-]{1,64}$/), anyText.map(headerValue)), 4),
        headers: fc.array(fc.constantFrom(...EXTRA_HEADERS).chain(([name, value]) => fc.tuple(fc.constant(name), value)), { maxLength: 2 }),
      }),
    )
}

/** Raw HTTP: request lines, header lines and bodies that a client library would never send. */
export function rawRequest(seeds: Seeds): fc.Arbitrary<Buffer> {
  const host = seeds.host
  const target = fc.oneof(
    { weight: 4, arbitrary: requestTarget(seeds).map((r) => r.path) },
    { weight: 1, arbitrary: fc.constantFrom('*', `http://${host}/healthz`, 'http://evil.example/api/inbox', '/ws', '/a b', '/\u0000', '/%', '', `/${'x'.repeat(17_000)}`, 'healthz') },
  )
  const header = fc.oneof(
    fc.constantFrom('Content-Length', 'Transfer-Encoding', 'Connection', 'Upgrade', 'Sec-WebSocket-Key', 'Sec-WebSocket-Version', 'Sec-WebSocket-Protocol', 'Sec-WebSocket-Extensions', 'Expect', 'Content-Type', 'Cookie', 'Authorization', 'Origin', 'Host').chain((name) =>
      fc.tuple(fc.constant(name), rawHeaderValue(name, seeds)).map(([n, v]) => `${n}: ${v}`),
    ),
    fc.constantFrom('NoColon', ' Leading-Space: x', 'X-Space : x', 'X-Nul: a\u0000b', 'X-Fold: a\r\n folded', `X-Long: ${'a'.repeat(20_000)}`, 'X-Utf8: é𝕏', ': empty-name', 'X-Bare-CR: a\rb'),
  )
  const body = fc.oneof(
    fc.constant(''),
    bodyText(seeds, ['text', 'username']),
    fc.constantFrom('0\r\n\r\n', '5\r\nhello\r\n0\r\n\r\n', 'zz\r\nhello\r\n0\r\n\r\n', '5\r\nhel', 'ffffffffffffffffff\r\n', '1;ext=' + 'x'.repeat(20_000) + '\r\na\r\n0\r\n\r\n'),
  )
  return fc
    .record({
      method: fc.constantFrom(...METHODS, 'CONNECT', 'G ET', '', 'PRI', '\u0000'),
      target,
      version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'http/1.1', '', 'HTTP/1.1x', 'HTTP/12'),
      host: fc.constantFrom(`Host: ${host}`, `Host: ${host}`, '', 'Host: evil.example', `Host: ${host}\r\nHost: other`),
      headers: fc.array(header, { maxLength: 6 }),
      body,
      contentLength: fc.boolean(),
      eol: fc.constantFrom('\r\n', '\r\n', '\r\n', '\n'),
    })
    .map((r) => {
      const lines = [`${r.method} ${r.target} ${r.version}`.trimEnd(), r.host, ...r.headers].filter((line) => line !== '')
      if (r.contentLength) lines.push(`Content-Length: ${Buffer.byteLength(r.body)}`)
      return Buffer.from(`${lines.join(r.eol)}${r.eol}${r.eol}${r.body}`)
    })
}

function rawHeaderValue(name: string, seeds: Seeds): fc.Arbitrary<string> {
  const values: Record<string, readonly string[]> = {
    'Content-Length': ['0', '5', '-1', '1, 2', 'abc', '99999999999999999999', '', '0x10'],
    'Transfer-Encoding': ['chunked', 'gzip, chunked', 'chunked, gzip', 'identity', 'garbage', 'Chunked', 'chunked\t'],
    Connection: ['Upgrade', 'close', 'keep-alive', 'upgrade, keep-alive', 'garbage'],
    Upgrade: ['websocket', 'WebSocket', 'h2c', 'websocket, h2c', 'garbage', ''],
    'Sec-WebSocket-Key': ['dGhlIHNhbXBsZSBub25jZQ==', 'short', '', 'dGhlIHNhbXBsZSBub25jZQ=='.repeat(3)],
    'Sec-WebSocket-Version': ['13', '8', '99', '', '13, 8', 'abc'],
    'Sec-WebSocket-Protocol': ['chat.v1', 'chat.v1, bearer.x.y.z', ',,', 'a b', 'chat.v1,', '"quoted"'],
    'Sec-WebSocket-Extensions': ['permessage-deflate', 'permessage-deflate; client_max_window_bits', 'garbage;;=', ''],
    Expect: ['100-continue', '100-Continue', 'garbage', '', '200-ok'],
    'Content-Type': CONTENT_TYPES,
    Cookie: ['sid=x', 'sid=', 'sid=%zz', '=;;=', `sid=${'A'.repeat(43)}`],
    Authorization: ['Bearer', 'Bearer a.b.c', 'Basic YTpi', 'Bearer  x y', ''],
    Origin: [`http://${seeds.host}`, 'https://evil.example', 'null', 'garbage', ''],
    Host: [seeds.host, '', 'evil.example', '[::1', 'a b'],
  }
  return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...(values[name] ?? [''])) }, { weight: 1, arbitrary: anyText })
}

/** What a fuzzed WebSocket session sends after its handshake. */
export type SocketInput =
  | { kind: 'text'; data: string }
  | { kind: 'binary'; data: Uint8Array }
  /** A text frame whose payload is not UTF-8. */
  | { kind: 'bad-utf8'; data: Uint8Array }
  /** Bytes written under the WebSocket layer: frames that break RFC 6455. */
  | { kind: 'raw'; data: Uint8Array }

export interface SocketCase {
  credential: Credential
  /** How a token is presented: the Authorization header, or the `bearer.` subprotocol a browser uses. */
  tokenIn: 'header' | 'subprotocol'
  protocols: string[]
  origin: string | undefined
  inputs: SocketInput[]
}

/** Client frames of every type with the fields of their type, plausible or not, sometimes one more; and frames of no known type. */
function clientFrame(seeds: Seeds): fc.Arbitrary<string> {
  const id = mostly(fc.oneof(fc.string({ minLength: 1, maxLength: 8 }), anyText))
  const conversationId = mostly(pick(seeds.conversationIds, anyNumber))
  const afterSeq = mostly(fc.oneof(fc.nat({ max: 40 }), anyNumber))
  const typed = (type: string, fields: Record<string, fc.Arbitrary<unknown>>, requiredKeys: string[]): fc.Arbitrary<Record<string, unknown>> => {
    const shape: Record<string, fc.Arbitrary<unknown>> = { type: fc.constant(type), ...fields }
    return fc.record(shape, { requiredKeys: ['type', ...requiredKeys] })
  }
  const frame = fc.oneof(
    typed('subscribe', { id, conversationId, afterSeq }, ['conversationId']),
    typed('unsubscribe', { id, conversationId }, ['conversationId']),
    typed('send', { id, conversationId, text: mostly(anyText), replyTo: fc.oneof(fc.nat({ max: 40 }), anyNumber) }, ['id', 'conversationId', 'text']),
    typed('typing', { id, conversationId }, ['conversationId']),
    typed('ping', { id }, []),
    typed('ping', {}, []).chain((f) => mostly(fc.constantFrom('SUBSCRIBE', 'events', 'error', '', 'welcome', 'ack')).map((type) => ({ ...f, type }))),
  )
  const extra = sometimes(fc.tuple(fc.constantFrom('extra', '__proto__', 'ID', 'constructor'), anyValue), 6)
  const asText = fc.tuple(frame, extra).map(([f, more]) => JSON.stringify(more ? { ...f, [more[0]]: more[1] } : f))
  const withRawNumber = fc
    .tuple(fc.constantFrom('conversationId', 'afterSeq'), fc.constantFrom(...RAW_NUMBERS), pick(seeds.conversationIds, fc.nat()))
    .map(([field, n, id]) => (field === 'afterSeq' ? `{"type": "subscribe", "conversationId": ${id}, "afterSeq": ${n}}` : `{"type": "unsubscribe", "conversationId": ${n}}`))
  return fc.oneof({ weight: 8, arbitrary: asText }, { weight: 1, arbitrary: withRawNumber })
}

/** Frames that break RFC 6455 (each closes the socket): unmasked, reserved bits and opcodes, bad lengths, bad close frames. */
const RAW_FRAMES: readonly number[][] = [
  [0x81, 0x02, 0x68, 0x69], // unmasked text
  [0x83, 0x80, 1, 2, 3, 4], // reserved opcode
  [0xc1, 0x81, 1, 2, 3, 4, 0x69], // RSV1 without an extension
  [0x89, 0xfe, 0x00, 0x7e, 1, 2, 3, 4, ...new Array(126).fill(0)], // a ping over 125 bytes
  [0x09, 0x80, 1, 2, 3, 4], // a fragmented ping
  [0x80, 0x80, 1, 2, 3, 4], // a continuation with nothing to continue
  [0x88, 0x81, 1, 2, 3, 4, 0x00], // a close frame with one byte
  [0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe7 ^ 2], // close code 999
  [0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4], // a 64-bit length over 2^63
]

export function socketCase(seeds: Seeds): fc.Arbitrary<SocketCase> {
  const input: fc.Arbitrary<SocketInput> = fc.oneof(
    { weight: 12, arbitrary: clientFrame(seeds).map((data) => ({ kind: 'text' as const, data })) },
    { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => ({ kind: 'text' as const, data: JSON.stringify(v) ?? 'null' })) },
    { weight: 3, arbitrary: anyText.map((data) => ({ kind: 'text' as const, data })) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }).map((data) => ({ kind: 'binary' as const, data })) },
    { weight: 1, arbitrary: fc.constantFrom(32 * 1024 + 1, 40_000, 1_000_000).map((n) => ({ kind: 'text' as const, data: 'x'.repeat(n) })) },
    { weight: 1, arbitrary: fc.constantFrom([0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0x7b, 0x80, 0x7d]).map((b) => ({ kind: 'bad-utf8' as const, data: Uint8Array.from(b) })) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_FRAMES).map((b) => ({ kind: 'raw' as const, data: Uint8Array.from(b) })) },
  )
  return fc.record({
    credential,
    tokenIn: fc.constantFrom('header', 'subprotocol'),
    protocols: fc.oneof({ weight: 4, arbitrary: fc.constant<string[]>([]) }, { weight: 1, arbitrary: fc.array(fc.constantFrom('chat.v1', 'other', 'bearer.', 'chat.v2'), { maxLength: 3 }) }),
    origin: sometimes(fc.constantFrom(`http://${seeds.host}`, 'https://evil.example', 'null'), 4),
    inputs: fc.array(input, { minLength: 1, maxLength: 10 }),
  })
}
