import type { ServerResponse } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, FastifyRequest, FastifySchema } from 'fastify'
import type { WebSocket } from 'ws'
import { SESSION_COOKIE, originAllowed, presentedBearer } from '../auth/credentials.js'
import type { LocalHub } from '../hub/local-hub.js'
import type { PresenceTracker } from '../presence/tracker.js'
import { CloseCode } from '../protocol/limits.js'
import { operation } from '../protocol/operations.js'
import { type ConnectionDeps, ClientConnection } from './connection.js'
import type { SessionWatch } from './session-watch.js'

/** The one path that takes a WebSocket handshake. */
export const WS_PATH = '/ws'

/** In the OpenAPI document: its answers, for a client to find; its frames are in docs/protocol.md. */
const WS_SCHEMA: FastifySchema = operation(
  'websocket',
  'Open a WebSocket: its frames are described in docs/protocol.md',
  'optional',
  { 101: { type: 'null', description: 'The handshake is accepted' } },
  [400, 403, 426],
)

export interface GatewayOptions {
  connection: Omit<ConnectionDeps, 'closed'>
  /** Where an open socket is known: the hub for notices, presence, and the watch that closes it when its session ends. */
  hub: Pick<LocalHub, 'addSocket' | 'removeSubscriber'>
  presence: Pick<PresenceTracker, 'connected' | 'disconnected'>
  sessionWatch: Pick<SessionWatch, 'add' | 'remove'>
  /** Origins besides the node's own whose pages may open a socket with the session cookie. */
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
  const { hub, presence, sessionWatch } = options
  const upgradeResponses = new WeakMap<FastifyRequest, ServerResponse>()
  // One set of dependencies for every connection, not one per socket.
  const connectionDeps: ConnectionDeps = {
    ...options.connection,
    closed: (connection, code) => {
      options.connection.meter.closed(code)
      hub.removeSubscriber(connection)
      const { userId } = connection
      if (userId === undefined) return
      sessionWatch.remove(connection)
      presence.disconnected(userId)
    },
  }
  app.route({
    method: 'GET',
    url: WS_PATH,
    schema: WS_SCHEMA,
    onRequest: async (request, reply) => {
      upgradeResponses.set(request, reply.raw)
      const byCookie = presentedBearer(request.headers) === undefined && request.cookies[SESSION_COOKIE] !== undefined
      if (byCookie && !originAllowed(request.headers, options.allowedOrigins))
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
      const user = request.viewer
      // Adds its own 'error' listener, in the same synchronous step.
      const connection = new ClientConnection(socket, user, connectionDeps)
      if (!user) return
      sessionWatch.add(connection)
      hub.addSocket(connection as ClientConnection & { userId: number })
      presence.connected(user.userId)
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

/** The close window is cut into steps at least this long: a few dozen waves of closes, not one per socket. */
const CLOSE_STEP_MS = 50

/**
 * On shutdown every socket is told to reconnect elsewhere (1012, service restart), in waves spread
 * evenly over `windowMs`, so that thousands of clients do not reconnect in the same millisecond.
 * Handshakes that come meanwhile are refused (503). Resolves once every socket has closed.
 */
export async function closeAllSockets(app: FastifyInstance, windowMs = 0): Promise<void> {
  const server = app.websocketServer
  const sockets = [...server.clients]
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  const steps = Math.max(1, Math.min(sockets.length, Math.floor(windowMs / CLOSE_STEP_MS)))
  for (let step = 0; step < steps; step++) {
    if (step > 0) await sleep(windowMs / steps)
    const wave = sockets.slice(Math.floor((step * sockets.length) / steps), Math.floor(((step + 1) * sockets.length) / steps))
    for (const socket of wave) socket.close(CloseCode.serviceRestart, 'service restart')
  }
  await closed
}
