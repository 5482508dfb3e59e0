import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { launchChromium, openDevice } from './helpers/browser.js'
import { errorShapeViolation } from './helpers/error-shape.js'
import { newUsername, register, request } from './helpers/http-client.js'
import { startNode } from './helpers/in-process.js'

/**
 * CORS over HTTP against a real node, and in Chromium from pages of other origins: a page server on
 * another port, reached as http://127.0.0.1:<port> (listed in ALLOWED_ORIGINS) and as
 * http://localhost:<port> (not listed).
 */

const pages = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>another origin</title>'))
pages.listen(0, '127.0.0.1')
await once(pages, 'listening')
t.teardown(() => pages.close())
const { port } = pages.address() as AddressInfo
const LISTED_PAGE = `http://127.0.0.1:${port}`
const UNLISTED_PAGE = `http://localhost:${port}`

const LISTED = 'https://app.example.com'
const UNLISTED = 'https://evil.example'
const { url } = await startNode(t, 'cors', { ALLOWED_ORIGINS: `${LISTED},${LISTED_PAGE}` })
const user = await register(url)

const corsHeaders = (headers: Headers) => [...headers.keys()].filter((name) => name.startsWith('access-control-'))
const preflight = (origin: string, method = 'POST', headers = 'content-type, idempotency-key, authorization') =>
  fetch(`${url}/api/conversations/1`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
  })

t.test('a preflight from a listed origin is granted, with credentials, for the methods and headers of the API', async (t) => {
  const res = await preflight(LISTED)
  t.equal(res.status, 204)
  t.equal(res.headers.get('access-control-allow-origin'), LISTED, 'echoes the origin, never *')
  t.equal(res.headers.get('access-control-allow-credentials'), 'true')
  const methods = res.headers.get('access-control-allow-methods')?.split(/, */)
  for (const method of ['GET', 'POST', 'PATCH', 'DELETE']) t.ok(methods?.includes(method), `allows ${method}`)
  const headers = res.headers.get('access-control-allow-headers')?.toLowerCase().split(/, */)
  for (const header of ['content-type', 'authorization', 'idempotency-key']) t.ok(headers?.includes(header), `allows ${header}`)
  t.ok(Number(res.headers.get('access-control-max-age')) > 0, 'may be cached')
  t.match(res.headers.get('vary'), /origin/i, 'caches keep answers to different origins apart')
  t.equal((await preflight(LISTED, 'DELETE', 'authorization')).status, 204, 'a bearer DELETE too')
})

t.test('a preflight from an origin not listed gets no CORS header at all', async (t) => {
  for (const origin of [UNLISTED, 'null', `${LISTED}.evil.example`, 'http://app.example.com']) {
    const res = await preflight(origin)
    t.same(corsHeaders(res.headers), [], origin)
    t.equal(res.status, 404, `${origin}: the JSON 404 of any OPTIONS request`)
    t.equal(errorShapeViolation({ status: res.status, contentType: res.headers.get('content-type') ?? undefined, body: await res.text() }), undefined)
  }
  const plain = await fetch(`${url}/api/conversations`, { method: 'OPTIONS' })
  t.same([plain.status, corsHeaders(plain.headers)], [404, []], 'an OPTIONS request without Origin is answered as before')
})

t.test('a cookie request from a listed origin works and its page may read the answer', async (t) => {
  const res = await request(url, 'POST', '/api/conversations', { cookie: user.cookie, body: { title: 'cross-origin' }, headers: { origin: LISTED } })
  t.equal(res.status, 201, 'the CSRF rule lets a listed origin through')
  t.equal(res.headers.get('access-control-allow-origin'), LISTED)
  t.equal(res.headers.get('access-control-allow-credentials'), 'true')
  const exposed = res.headers.get('access-control-expose-headers')?.toLowerCase().split(/, */)
  t.ok(exposed?.includes('location') && exposed.includes('retry-after'), 'Location and Retry-After are readable')
  const refused = await request(url, 'GET', '/api/me', { headers: { origin: LISTED } })
  t.same([refused.status, refused.headers.get('access-control-allow-origin')], [401, LISTED], 'so are its refusals')
})

t.test('a cookie request from an origin not listed is refused by the CSRF rule, with no CORS header', async (t) => {
  const res = await request(url, 'POST', '/api/conversations', { cookie: user.cookie, body: { title: 'forged' }, headers: { origin: UNLISTED } })
  t.same([res.status, res.body], [403, { status: 'unauthorised' }])
  t.same(corsHeaders(res.headers), [])
  const read = await request(url, 'GET', '/api/conversations', { cookie: user.cookie, headers: { origin: UNLISTED } })
  t.equal(read.status, 200, 'a read is answered, as a browser would send it without a preflight…')
  t.same(corsHeaders(read.headers), [], '…but with nothing that lets the page read it')
  t.notOk(read.body.conversations.some((c: { title: string }) => c.title === 'forged'), 'nothing was created')
})

t.test('in Chromium, a page of a listed origin signs in and posts with its cookie; one of another origin reads nothing', async (t) => {
  const browser = await launchChromium(t)
  const listed = await openDevice(browser, `${LISTED_PAGE}/`)
  const username = newUsername('cors')
  const seen = await listed.page.evaluate(
    async ({ node, username }) => {
      const json = { 'content-type': 'application/json' }
      const registered = await fetch(`${node}/auth/register`, { method: 'POST', credentials: 'include', headers: json, body: JSON.stringify({ username }) })
      const me = await (await fetch(`${node}/api/me`, { credentials: 'include' })).json()
      const created = await fetch(`${node}/api/conversations`, { method: 'POST', credentials: 'include', headers: json, body: JSON.stringify({ title: 't' }) })
      return { registered: registered.status, me: me.username, created: created.status, location: created.headers.get('location') }
    },
    { node: url, username },
  )
  t.same(seen.registered, 201)
  t.equal(seen.me, username, 'the session cookie went with the next request')
  t.equal(seen.created, 201)
  t.match(seen.location, /^\/api\/conversations\/\d+$/, 'an exposed header is readable')
  t.same(listed.problems, [])

  const unlisted = await openDevice(browser, `${UNLISTED_PAGE}/`)
  const other = newUsername('cors')
  const attempts: [string, RequestInit][] = [
    ['/healthz', {}],
    ['/auth/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: other }) }],
  ]
  // No function is named inside: tsx would name it with a helper the page does not have.
  const outcomes = await unlisted.page.evaluate(
    async ({ node, attempts }) => {
      const outcomes: string[] = []
      for (const [path, init] of attempts)
        outcomes.push(await fetch(node + path, { credentials: 'include', ...init }).then(() => 'read', (err: Error) => err.name))
      return outcomes
    },
    { node: url, attempts },
  )
  t.same(outcomes, ['TypeError', 'TypeError'], 'the browser lets the page read nothing, and sends no POST after the refused preflight')
  t.equal((await request(url, 'POST', '/auth/register', { body: { username: other } })).status, 201, 'the refused registration never happened')
})
