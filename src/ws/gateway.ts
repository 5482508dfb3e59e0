import type { ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { SESSION_COOKIE, presentedBearer } from '../http/authentication.js'
import { writeErrorToConnection } from '../http/error-handler.js'
import { originAllowed } from '../http/origin.js'
import type { WebSocket } from 'ws'
import { type ConnectionDeps, ClientConnection } from './connection.js'
import { CloseCode } from './protocol.js'

/** The one path that takes a WebSocket handshake. */
export const WS_PATH = '/ws'

export interface GatewayOptions extends ConnectionDeps {
  allowedOrigins: readonly string[]
}

/**
 * GET /ws, authenticated by the session cookie or by an access token (Authorization, or the
 * subprotocol `bearer.<token>`), or by nothing: such a socket may only watch public conversations.
 * A cookie-authenticated socket can be opened by any page the browser visits, so its handshake must
 * come from an allowed Origin (403 otherwise); a bearer token is proof enough by itself, and a socket
 * with no credential sees only what anyone may see. A credential
 * that is presented but not valid is refused with 401.
 */
export async function wsGateway(app: FastifyInstance, options: GatewayOptions): Promise<void> {
  const upgradeResponses = new WeakMap<FastifyRequest, ServerResponse>()
  // ws answers a handshake it cannot complete (no key, an unknown version, a subprotocol list that
  // does not parse) with a text body of its own; this gives it the documented one.
  app.websocketServer.on('wsClientError', (err, socket) => writeErrorToConnection(socket, 400, err.message))
  app.route({
    method: 'GET',
    url: WS_PATH,
    onRequest: async (request, reply) => {
      upgradeResponses.set(request, reply.raw)
      const byCookie = presentedBearer(request) === undefined && request.cookies[SESSION_COOKIE] !== undefined
      if (byCookie && !originAllowed(request, options.allowedOrigins))
        return reply.code(403).send({ status: 'unauthorised', message: 'origin not allowed' })
    },
    preValidation: app.identifyUser,
    // A request without an upgrade: 426 names what it lacks (RFC 9110 §15.5.22), where @fastify/websocket would answer an empty 404.
    handler: async (_request, reply) => {
      reply.header('upgrade', 'websocket').header('connection', 'upgrade')
      throw Object.assign(new Error('this is a WebSocket endpoint: send a WebSocket handshake'), { statusCode: 426 })
    },
    wsHandler: (socket, request) => {
      releaseUpgrade(socket, request, upgradeResponses.get(request))
      // Adds its own 'error' listener, in the same synchronous step.
      new ClientConnection(socket, request.viewer, options)
    },
  })
}

/**
 * @fastify/websocket keeps the upgrade's request, reply, ServerResponse and request logger reachable
 * from the socket for as long as it is open: through the response it binds to the socket (so that
 * hooks can still answer 401 or 403), and through an 'error' listener that closes over them. That
 * is several KiB per connection that nothing needs once the socket is open: ClientConnection has
 * its own error listener, so both links are cut.
 */
function releaseUpgrade(socket: WebSocket, request: FastifyRequest, response: ServerResponse | undefined): void {
  response?.detachSocket(request.raw.socket)
  socket.removeAllListeners('error')
}

/** On shutdown every socket is told to reconnect elsewhere (1012, service restart). */
export function closeAllSockets(app: FastifyInstance): Promise<void> {
  for (const socket of app.websocketServer.clients) socket.close(CloseCode.serviceRestart, 'service restart')
  return new Promise((resolve) => app.websocketServer.close(() => resolve()))
}
