import type { IncomingHttpHeaders } from 'node:http'
import { BEARER_SUBPROTOCOL_PREFIX } from '../protocol/limits.js'

/**
 * How a request presents its credential, over REST and on a WebSocket handshake alike, and whether
 * a browser request comes from an origin allowed to use it.
 */

export const SESSION_COOKIE = 'sid'

/**
 * The bearer token a request presents: `Authorization: Bearer <token>`, or on a WebSocket handshake
 * the subprotocol `bearer.<token>` (browsers cannot set headers there). An Authorization header of
 * another scheme is a credential too, and an invalid one.
 */
export function presentedBearer(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization
  if (authorization !== undefined) {
    const match = /^Bearer +(\S+) *$/i.exec(authorization)
    return match ? (match[1] as string) : ''
  }
  const protocols = headers['sec-websocket-protocol']
  if (protocols === undefined) return undefined
  const offered = protocols.split(',').map((p) => p.trim())
  return offered.find((p) => p.startsWith(BEARER_SUBPROTOCOL_PREFIX))?.slice(BEARER_SUBPROTOCOL_PREFIX.length)
}

/**
 * A browser sends Origin with every cross-origin request and every WebSocket handshake. A request
 * that carries one must come from this node's own origin or from the allowlist; clients that are
 * not browsers send none.
 */
export function originAllowed(headers: IncomingHttpHeaders, allowedOrigins: readonly string[]): boolean {
  const origin = headers.origin
  if (origin === undefined) return true
  if (allowedOrigins.includes(origin)) return true
  try {
    return new URL(origin).host === headers.host
  } catch {
    return false
  }
}
