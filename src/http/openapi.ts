import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import pkg from '../../package.json' with { type: 'json' }
import { SECURITY_SCHEMES, TAGS } from '../protocol/operations.js'
import { pageHeaders } from './web-client.js'

const TITLE = 'chat-cluster REST API'

/** The OpenAPI document, generated from the routes' schemas. */
export const OPENAPI_PATH = '/openapi.json'
/** Swagger UI, every file of it served by the node. */
export const DOCS_PATH = '/docs'

/**
 * The docs page runs only its own files and talks only to its own node. Swagger UI's base layout
 * needs no inline script or style (the standalone layout's top bar has a logo with a <style> in
 * it); its style sheet draws its icons as data: images.
 */
const DOCS_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

/**
 * The OpenAPI document of every route registered after this (a route whose schema says `hide` is
 * left out), at OPENAPI_PATH, and Swagger UI at DOCS_PATH under a policy of its own.
 */
export async function installApiDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: TITLE,
        version: pkg.version,
        license: { name: pkg.license, identifier: pkg.license },
        description: 'The rules beyond the shapes (CSRF, errors, rate limits, who may do what) are in docs/api.md; the WebSocket frames in docs/protocol.md.',
      },
      tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
      components: { securitySchemes: SECURITY_SCHEMES },
    },
  })
  app.get(OPENAPI_PATH, { schema: { hide: true } }, () => app.swagger())
  await app.register(async (docs) => {
    docs.addHook('onSend', pageHeaders(() => DOCS_POLICY))
    await docs.register(swaggerUi, { routePrefix: DOCS_PATH, theme: { title: TITLE }, uiConfig: { layout: 'BaseLayout' } })
  })
}
