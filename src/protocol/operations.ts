import type { TSchema } from 'typebox'
import { type ErrorStatus, errorReplies } from './rest.js'

/**
 * What the OpenAPI document (http/openapi.ts) says of each route beyond the shapes of rest.ts: its
 * tag and summary, who may call it, and the error answers that follow. docs/api.md has the rules.
 */

export const TAGS = {
  auth: 'Registration, login, sessions (devices) and tokens',
  profile: "Profiles: the signed-in user's own, and other users' public ones",
  admin: 'User management: admins only',
  conversations: 'Conversations and their messages',
  reactions: "Emoji reactions to messages: one's own, added and taken back",
  members: 'Members, joining and leaving, read markers, hiding a conversation',
  people: 'The inbox, direct conversations and blocks',
  search: 'Full-text search over the messages the user may read',
  invites: "Invite links: made, listed and revoked by a conversation's owner; seen by anyone who holds one, and used to join",
  health: 'Liveness and readiness, for load balancers',
  websocket: 'The WebSocket endpoint: its frames are described in docs/protocol.md',
}
type Tag = keyof typeof TAGS

export const SECURITY_SCHEMES = {
  session: { type: 'apiKey', in: 'cookie', name: 'sid', description: 'The session cookie set by register, login and /auth/external' },
  bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from POST /auth/token' },
  basic: {
    type: 'http',
    scheme: 'basic',
    description:
      'username:password (RFC 7617, UTF-8), over HTTPS only: POST /auth/token always takes it; admin routes only when the node runs with ALLOW_BASIC_AUTH=true (docs/operations.md)',
  },
} as const

type Requirement = Partial<Record<keyof typeof SECURITY_SCHEMES, never[]>>
const signedIn: Requirement[] = [{ session: [] }, { bearer: [] }]
const basic: Requirement = { basic: [] }

/** Who may call a route, and the errors that follow from it: a credential is looked up in Postgres. */
const ACCESS = {
  /** No credential. */
  none: { security: [], errors: [] },
  /** A credential or none; one that is presented must be valid. */
  optional: { security: [{}, ...signedIn], errors: [401, 503] },
  /** As optional, or a username and password as HTTP Basic (POST /auth/token). */
  basic: { security: [{}, ...signedIn, basic], errors: [401, 503] },
  user: { security: signedIn, errors: [401, 503] },
  /** Basic only when ALLOW_BASIC_AUTH=true; the scheme's description says so. */
  admin: { security: [...signedIn, basic], errors: [401, 403, 503] },
} satisfies Record<string, { security: Requirement[]; errors: ErrorStatus[] }>

/**
 * What any request that changes state can be answered, whatever its route: a body that is not
 * well-formed JSON (400) or over the limit (413), and the CSRF rule's 403 and 415.
 */
export const CHANGES_STATE: ErrorStatus[] = [400, 403, 413, 415]

/**
 * The OpenAPI part of a route's schema: its tag and summary, who may call it, and its replies: the
 * success ones given, and the errors its access and `errors` can answer. The handlers give only the
 * success replies (errors are the error handler's), so that is the type the route sees.
 */
export function operation<R extends Record<number, TSchema>>(tag: Tag, summary: string, access: keyof typeof ACCESS, replies: R, errors: ErrorStatus[] = []) {
  const { security, errors: ofAccess } = ACCESS[access]
  return { tags: [tag], summary, security, response: { ...replies, ...errorReplies([...ofAccess, ...errors]) } as R }
}
