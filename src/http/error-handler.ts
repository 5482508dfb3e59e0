import type { FastifyError, FastifyInstance } from 'fastify'
import { ChatError, type ChatErrorCode } from '../errors.js'

const byCode: Record<ChatErrorCode, { status: number; body: string }> = {
  unauthorised: { status: 401, body: 'unauthorised' },
  // The specification answers a valid session that may not act with the same body as no session.
  forbidden: { status: 403, body: 'unauthorised' },
  not_found: { status: 404, body: 'not found' },
  username_taken: { status: 409, body: 'username taken' },
  invalid: { status: 400, body: 'invalid request' },
  overloaded: { status: 503, body: 'overloaded' },
  rate_limited: { status: 429, body: 'too many requests' },
  unavailable: { status: 503, body: 'unavailable' },
}

const byStatus: Record<number, string> = {
  404: 'not found',
  413: 'payload too large',
  415: 'unsupported media type',
}

/** Maps every error to a JSON body once. A 5xx never shows its message, stack or SQL. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | ChatError, request, reply) => {
    if (err instanceof ChatError) {
      const { status, body } = byCode[err.code]
      if (err.code === 'overloaded') reply.header('retry-after', '1')
      if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds))
      return reply.code(status).send(status === 400 ? { status: body, message: err.message } : { status: body })
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
