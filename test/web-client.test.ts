import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { errorShapeViolation } from './helpers/error-shape.js'
import { startNode } from './helpers/in-process.js'
import { rawExchange } from './helpers/raw-http.js'
import { builtWebClient } from './helpers/web-build.js'

const dist = await builtWebClient()
const { url } = await startNode(t, 'web_client')
const host = new URL(url).host

t.test('/ is the web client, with a policy that allows only its own scripts and its own host', async (t) => {
  const page = await fetch(`${url}/`)
  t.equal(page.status, 200)
  t.match(page.headers.get('content-type'), /^text\/html/)
  t.equal(page.headers.get('cache-control'), 'no-cache', 'index.html is checked each time')
  t.equal(page.headers.get('x-content-type-options'), 'nosniff')
  t.equal(page.headers.get('referrer-policy'), 'no-referrer')
  const policy = page.headers.get('content-security-policy') ?? ''
  t.match(policy, /default-src 'self'/)
  t.match(policy, /script-src 'self'(;|$)/, 'no inline scripts, nothing from elsewhere')
  t.match(policy, new RegExp(`connect-src 'self' ws://${host} wss://${host}(;|$)`), 'the socket of its own host only')
  t.match(policy, /frame-ancestors 'none'/)
  const html = await page.text()
  t.same([...html.matchAll(/<script\b[^>]*>/g)].map(([tag]) => /\ssrc="\/assets\/[^"]+\.js"/.test(tag)), [true], 'one script, from a file')

  const assets = await readdir(join(dist, 'assets'))
  t.ok(assets.length >= 2, 'the script and the style sheet')
  for (const asset of assets) {
    const res = await fetch(`${url}/assets/${asset}`)
    t.equal(res.status, 200, asset)
    t.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable', `${asset} is cached for good: its name changes with it`)
    t.match(res.headers.get('content-type'), asset.endsWith('.js') ? /javascript/ : /text\/css/)
    await res.arrayBuffer()
  }
  t.equal((await fetch(`${url}/`, { method: 'HEAD' })).status, 200, 'HEAD too')
})

t.test('every other path answers as before', async (t) => {
  for (const path of ['/nope', '/assets/nope.js', '/index.htm', '/assets/', '/src/main.ts', '/../package.json']) {
    const res = await fetch(url + path)
    const answer = { status: res.status, contentType: res.headers.get('content-type') ?? undefined, body: await res.text() }
    t.equal(answer.status, 404, path)
    t.equal(errorShapeViolation(answer), undefined, `${path}: the documented 404 body`)
  }
  t.same(await (await fetch(`${url}/healthz`)).json(), { status: 'ok' })
  t.equal((await fetch(`${url}/api/inbox`)).status, 401)
  const [upgrade] = await rawExchange(
    url,
    `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
  )
  t.equal(upgrade?.status, 404, 'a WebSocket handshake at / is refused, as anywhere but /ws')
})

t.test('a node without the built client starts, and says so at /', async (t) => {
  const empty = await mkdtemp(join(tmpdir(), 'no-web-client-'))
  t.teardown(() => rm(empty, { recursive: true, force: true }))
  const bare = await startNode(t, 'web_client_missing', { WEB_CLIENT_DIR: empty })
  const res = await fetch(`${bare.url}/`)
  t.equal(res.status, 503)
  t.match(await res.json(), { status: 'unavailable', message: /not built.*npm run build:web/ })
  t.same(await (await fetch(`${bare.url}/healthz`)).json(), { status: 'ok' }, 'and serves the rest')
})
