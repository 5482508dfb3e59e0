import type { ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'
import type { Logger } from '../logger.js'
import type { Messages } from '../chat/messages.js'
import type { LocalHub } from '../hub/local-hub.js'
import { ClientConnection } from './connection.js'
import { CloseCode } from './protocol.js'

export interface GatewayOptions {
  hub: LocalHub
  messages: Messages
  allowedOrigins: readonly string[]
  maxBufferedBytes: number
  log: Logger
}

/**
 * A cookie-authenticated socket can be opened by any page the browser visits, so a handshake that
 * carries an Origin must come from this node's own origin or from the allowlist. Clients that are not
 * browsers send no Origin.
 */
function originAllowed(request: FastifyRequest, allowedOrigins: readonly string[]): boolean {
  const origin = request.headers.origin
  if (origin === undefined) return true
  if (allowedOrigins.includes(origin)) return true
  try {
    return new URL(origin).host === request.headers.host
  } catch {
    return false
  }
}

/** GET /ws. The handshake is refused with 403 for a foreign Origin and 401 without a valid session. */
export async function wsGateway(app: FastifyInstance, options: GatewayOptions): Promise<void> {
  const upgradeResponses = new WeakMap<FastifyRequest, ServerResponse>()
  app.get(
    '/ws',
    {
      websocket: true,
      onRequest: async (request, reply) => {
        upgradeResponses.set(request, reply.raw)
        if (!originAllowed(request, options.allowedOrigins))
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
