import type { FastifyInstance } from 'fastify'
import { ChatError } from '../errors.js'

/**
 * Requests that Node or @fastify/websocket would answer by themselves, outside the documented error
 * shape, are answered through the one error handler instead. Needs @fastify/websocket registered
 * first (it marks handshakes with `request.ws`).
 */
export function installTransportRules(app: FastifyInstance, wsPath: string): void {
  app.addHook('onRequest', async (request) => {
    // @fastify/websocket would complete a handshake on any GET route, then close the socket.
    if (request.ws && request.routeOptions.url !== wsPath) throw new ChatError('not_found', 'no WebSocket at this path')
    // RFC 9112 §3.2. Node's own check (requireHostHeader, turned off in app.ts) answers with an empty body.
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) throw new ChatError('invalid', 'an HTTP/1.1 request needs a Host header')
  })
  // Node answers an Expect other than 100-continue with an empty 417 unless this event has a
  // listener. RFC 9110 §10.1.1 lets a server ignore an expectation it does not know: it is served.
  app.server.on('checkExpectation', app.routing)
}
