import type { IncomingHttpHeaders } from 'node:http'
import { ChatError } from '../errors.js'
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
 * Whether the request carries `Authorization: Bearer`, which a browser never sends on its own: a
 * script had to hold the token. A cookie, and Basic credentials a browser remembers, it does send on
 * its own, so only such requests are free of the CSRF rule.
 */
export const presentsBearerHeader = (headers: IncomingHttpHeaders): boolean => /^Bearer(?: |$)/i.test(headers.authorization ?? '')

export interface BasicCredential {
  username: string
  password: string
}

const BASIC_SCHEME = /^Basic(?: |$)/i
const BASIC_HEADER = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * The username and password of `Authorization: Basic <base64 of username:password>` (RFC 7617, in
 * UTF-8; the password is everything after the first colon, and may hold colons), or undefined when
 * the header is absent or of another scheme. A Basic header that does not decode to a username and
 * a password (no base64 word, not base64, not UTF-8, no colon, an empty username) is refused with
 * 400, saying which.
 */
export function presentedBasic(headers: IncomingHttpHeaders): BasicCredential | undefined {
  const authorization = headers.authorization
  if (authorization === undefined || !BASIC_SCHEME.test(authorization)) return undefined
  const encoded = BASIC_HEADER.exec(authorization)?.[1]
  if (encoded === undefined || encoded.length % 4 !== 0)
    throw new ChatError('invalid', 'Authorization: Basic must be followed by one base64 word, the base64 of username:password')
  let decoded: string
  try {
    decoded = strictUtf8.decode(Buffer.from(encoded, 'base64'))
  } catch {
    throw new ChatError('invalid', 'Authorization: Basic must encode UTF-8 text')
  }
  const colon = decoded.indexOf(':')
  if (colon === -1) throw new ChatError('invalid', 'Authorization: Basic must encode username:password, with a colon between them')
  if (colon === 0) throw new ChatError('invalid', 'Authorization: Basic has an empty username')
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
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
