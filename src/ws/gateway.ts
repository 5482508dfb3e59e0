import type { FastifyInstance, FastifyRequest } from 'fastify'
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
  app.get(
    '/ws',
    {
      websocket: true,
      onRequest: async (request, reply) => {
        if (!originAllowed(request, options.allowedOrigins))
          return reply.code(403).send({ status: 'unauthorised', message: 'origin not allowed' })
      },
      preValidation: app.requireUser,
    },
    (socket, request) => {
      new ClientConnection(socket, request.user, options)
    },
  )
}

/** On shutdown every socket is told to reconnect elsewhere (1012, service restart). */
export function closeAllSockets(app: FastifyInstance): Promise<void> {
  for (const socket of app.websocketServer.clients) socket.close(CloseCode.serviceRestart, 'service restart')
  return new Promise((resolve) => app.websocketServer.close(() => resolve()))
}
