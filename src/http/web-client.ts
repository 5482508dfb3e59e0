import { existsSync } from 'node:fs'
import { join } from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** Vite names every built asset after its content, so a file under this path never changes. */
const HASHED_ASSETS = /[\\/]assets[\\/][^\\/]+$/

/** A Host header as a browser sends it: a name or an address, and a port. Anything else is left out of the policy. */
const PLAIN_HOST = /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i

/**
 * The page may run only its own scripts and styles (no inline ones, nothing from elsewhere) and
 * talk only to its own node, over HTTP and WebSocket: a message rendered wrongly could not run
 * code, nor send anything out. `'self'` covers ws: in CSP 3; the socket's origin is named too for
 * browsers that predate it.
 */
function contentSecurityPolicy(host: string): string {
  const socket = PLAIN_HOST.test(host) ? ` ws://${host} wss://${host}` : ''
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `connect-src 'self'${socket}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
}

/** An onSend hook: every answer of its plugin gets the policy for its host, no MIME sniffing and no Referer. */
export function pageHeaders(policy: (host: string) => string) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('content-security-policy', policy(request.host))
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'no-referrer')
  }
}

function cacheFor(reply: FastifyReply, path: string): void {
  // index.html names the current assets: the browser asks again each time (a 304 when unchanged).
  reply.header('cache-control', HASHED_ASSETS.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache')
}

/**
 * The web client (web/), served at `/` by every node: the files `npm run build:web` wrote, each one
 * at its own path and nothing else, so that every other path keeps its answer (an unknown one is
 * still the JSON 404). A node whose build is missing still starts, and answers `/` with a 503 that
 * says so.
 */
export async function webClient(app: FastifyInstance, options: { root: string }): Promise<void> {
  app.addHook('onSend', pageHeaders(contentSecurityPolicy))
  if (!existsSync(join(options.root, 'index.html'))) {
    app.log.warn({ root: options.root }, 'the web client is not built (npm run build:web): / answers 503')
    app.get('/', { schema: { hide: true } }, (_request, reply) =>
      reply.code(503).send({ status: 'unavailable', message: 'the web client is not built on this node: run npm run build:web' }),
    )
    return
  }
  await app.register(fastifyStatic, {
    root: options.root,
    // One route per built file, read at start-up: no catch-all that would answer unknown paths.
    wildcard: false,
    cacheControl: false,
    setHeaders: cacheFor,
  })
}
