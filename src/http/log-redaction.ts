import type { FastifyRequest } from 'fastify'

/** Query parameters whose values are credentials and never reach a log. */
const SECRET_PARAMETER = /token|password|secret|code|key|sig|auth/i

/** A URL as logged: every query parameter that could hold a credential has its value replaced. */
export function redactUrl(url: string): string {
  const queryAt = url.indexOf('?')
  if (queryAt === -1) return url
  const params = new URLSearchParams(url.slice(queryAt + 1))
  for (const name of new Set(params.keys())) if (SECRET_PARAMETER.test(name)) params.set(name, '[REDACTED]')
  return `${url.slice(0, queryAt)}?${params.toString()}`
}

/**
 * The request as fastify logs it: its default fields, with the URL redacted. No header is logged,
 * so Authorization, cookies and a WebSocket's bearer subprotocol never are.
 */
export function requestLogFields(request: FastifyRequest) {
  return {
    method: request.method,
    url: redactUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  }
}
