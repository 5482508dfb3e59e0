import type { FastifyRequest } from 'fastify'

/**
 * A browser sends Origin with every cross-origin request and every WebSocket handshake. A request
 * that carries one must come from this node's own origin or from the allowlist; clients that are
 * not browsers send none.
 */
export function originAllowed(request: FastifyRequest, allowedOrigins: readonly string[]): boolean {
  const origin = request.headers.origin
  if (origin === undefined) return true
  if (allowedOrigins.includes(origin)) return true
  try {
    return new URL(origin).host === request.headers.host
  } catch {
    return false
  }
}
