import type { ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { presentedBearer } from '../http/authentication.js'
import { originAllowed } from '../http/origin.js'
import type { WebSocket } from 'ws'
import type { Logger } from '../logger.js'
import type { Messages } from '../chat/messages.js'
import type { LocalHub } from '../hub/local-hub.js'
import { ClientConnection } from './connection.js'
import { CloseCode } from './protocol.js'
import type { SessionWatch } from './session-watch.js'

export interface GatewayOptions {
  hub: LocalHub
  messages: Messages
  sessionWatch: SessionWatch
  allowedOrigins: readonly string[]
  maxBufferedBytes: number
  log: Logger
}

/**
 * GET /ws, authenticated by the session cookie or by an access token (Authorization, or the
 * subprotocol `bearer.<token>`). A cookie-authenticated socket can be opened by any page the browser
 * visits, so its handshake must come from an allowed Origin (403 otherwise); a bearer token is
 * proof enough by itself. 401 without a valid credential.
 */
export async function wsGateway(app: FastifyInstance, options: GatewayOptions): Promise<void> {
  const upgradeResponses = new WeakMap<FastifyRequest, ServerResponse>()
  app.get(
    '/ws',
    {
      websocket: true,
      onRequest: async (request, reply) => {
        upgradeResponses.set(request, reply.raw)
        if (presentedBearer(request) === undefined && !originAllowed(request, options.allowedOrigins))
          return reply.code(403).send({ status: 'unauthorised', message: 'origin not allowed' })
      },
      preValidation: app.requireUser,
    },
    (socket, request) => {
      releaseUpgrade(socket, request, upgradeResponses.get(request))
      // Adds its own 'error' listener, in the same synchronous step.
      new ClientConnection(socket, request.user, options)
    },
  )
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
