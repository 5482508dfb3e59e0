import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import type { ConnectionError, FastifyError, FastifyInstance, FastifyReply } from 'fastify'
import { ChatError, type ChatErrorCode, UnknownUsers } from '../errors.js'

const byCode: Record<ChatErrorCode, { status: number; body: string }> = {
  unauthorised: { status: 401, body: 'unauthorised' },
  // The specification answers a valid session that may not act with the same body as no session.
  forbidden: { status: 403, body: 'unauthorised' },
  not_found: { status: 404, body: 'not found' },
  username_taken: { status: 409, body: 'username taken' },
  email_taken: { status: 409, body: 'email taken' },
  gone: { status: 410, body: 'gone' },
  invalid: { status: 400, body: 'invalid request' },
  overloaded: { status: 503, body: 'overloaded' },
  rate_limited: { status: 429, body: 'too many requests' },
  unavailable: { status: 503, body: 'unavailable' },
}

const byStatus: Record<number, string> = {
  404: 'not found',
  408: 'request timeout',
  413: 'payload too large',
  415: 'unsupported media type',
  426: 'upgrade required',
  431: 'request header fields too large',
}

/** Maps every error to a JSON body once. A 5xx never shows its message, stack or SQL. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | ChatError, request, reply) => {
    if (err instanceof ChatError) {
      const { status, body } = byCode[err.code]
      if (err.code === 'overloaded') reply.header('retry-after', '1')
      if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds))
      const withMessage = status === 400 || err instanceof UnknownUsers
      return reply.code(status).send(withMessage ? { status: body, message: err.message } : { status: body })
    }
    const status = err.statusCode ?? 500
    if (status >= 500) {
      request.log.error({ err }, 'request failed')
      return reply.code(500).send({ status: 'internal error' })
    }
    return reply.code(status).send({ status: byStatus[status] ?? 'invalid request', message: err.message })
  })
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ status: 'not found' }))
}

/**
 * Fastify's `frameworkErrors`: the router could not match the path because it is not valid URL
 * encoding or has a parameter over 100 characters. Such a path names nothing, like any id that is
 * not a positive integer.
 */
export function answerRoutingError(_err: FastifyError, _request: unknown, reply: FastifyReply): void {
  reply.code(404).send({ status: byStatus[404] })
}

/**
 * An error answer for a connection that has no Fastify reply, written to it as raw HTTP, after
 * which the connection closes: its request never reached the router, or ws refused its handshake.
 */
export function writeErrorToConnection(socket: Duplex, status: number, message?: string): void {
  const body = JSON.stringify({ status: byStatus[status] ?? 'invalid request', message })
  closeLingering(socket)
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
}

/** How long a connection that was answered with an error may go on sending before it is reset. */
const LINGER_MS = 2_000

/**
 * Closes a connection the node has answered and will read no more from, the way web servers do
 * (nginx's lingering close): what the client still sends is read and dropped until it closes its
 * side, for at most LINGER_MS. Destroying the socket at once would make the kernel answer the rest
 * of a large request with a reset, and a client still sending would lose the answer before it read it.
 */
function closeLingering(socket: Duplex): void {
  socket.removeAllListeners('data')
  socket.on('data', () => {})
  // A client that resets in the meantime has had its answer; there is nothing to report.
  socket.on('error', () => {})
  const timer = setTimeout(() => socket.destroy(), LINGER_MS)
  socket.once('end', () => socket.destroy())
  socket.once('close', () => clearTimeout(timer))
  socket.resume()
}

/** Fastify's `clientErrorHandler`: Node's HTTP parser refused the request (malformed, or headers over its limit). */
export function answerUnparsableRequest(err: ConnectionError, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy()
  if (err.code === 'HPE_HEADER_OVERFLOW') return writeErrorToConnection(socket, 431)
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return writeErrorToConnection(socket, 408)
  writeErrorToConnection(socket, 400, 'malformed HTTP request')
}
