import { createHash, timingSafeEqual } from 'node:crypto'
import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify'
import type { Registry } from 'prom-client'
import { presentedBearer } from '../auth/credentials.js'
import type { MetricsAccess } from '../config.js'
import { ChatError } from '../errors.js'
import { installErrorHandler } from '../http/error-handler.js'
import type { NodeMetrics } from './node-metrics.js'

const METRICS_PATH = '/metrics'

/** The route label of requests that no route matched, whatever their path. */
const UNMATCHED = 'unmatched'

const digest = (text: string) => createHash('sha256').update(text).digest()

/** GET /metrics, behind the bearer token when there is one. */
function metricsRoute(registry: Registry, token: string | undefined): RouteOptions {
  const expected = token === undefined ? undefined : digest(token)
  return {
    method: 'GET',
    url: METRICS_PATH,
    // An operator's route, not the API's: out of the OpenAPI document.
    schema: { hide: true },
    // A scrape every few seconds would otherwise fill the request log.
    logLevel: 'warn',
    onRequest: async (request, reply) => {
      if (!expected) return
      const presented = presentedBearer(request.headers)
      // Digests are all one length, so the comparison takes the same time whatever was presented.
      if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
        reply.header('www-authenticate', 'Bearer')
        throw new ChatError('unauthorised', 'the metrics token is required')
      }
    },
    handler: async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  }
}

/**
 * Times every request of the node by its route pattern, and serves /metrics: on a listener of its
 * own when METRICS_PORT is set (and then not on the main port), behind METRICS_TOKEN when that is
 * set. With neither, /metrics is not served at all (404): whatever reaches the main port (through a
 * balancer, or a proxy on the same host, whose requests come from loopback) could read it otherwise.
 */
export function serveMetrics(app: FastifyInstance, metrics: NodeMetrics, access: MetricsAccess & { host: string }): void {
  app.addHook('onResponse', (request, reply, done) => {
    metrics.httpRequest(request.method, request.routeOptions.url ?? UNMATCHED, reply.statusCode, reply.elapsedTime / 1000)
    done()
  })
  const { host, port, token } = access
  const route = metricsRoute(metrics.registry, token)
  if (port === undefined) {
    if (token !== undefined) app.route(route)
    return
  }
  // Fastify's close() waits for a connection whose request was in flight when it began until the
  // client drops it (72 s for a keep-alive scraper): this listener drops them all, scrapes included.
  const listener = Fastify({ loggerInstance: app.log, forceCloseConnections: true })
  installErrorHandler(listener)
  listener.route(route)
  // Listening in onReady fails the node's start when the port is taken; the listener serves through
  // the shutdown drain, and app.close() closes it.
  app.addHook('onReady', async () => {
    await listener.listen({ host, port })
  })
  app.addHook('onClose', () => listener.close())
}
