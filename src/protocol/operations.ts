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
  members: 'Members, joining and leaving, read markers, hiding a conversation',
  people: 'The inbox, direct conversations and blocks',
  search: 'Full-text search over the messages the user may read',
  health: 'Liveness and readiness, for load balancers',
  websocket: 'The WebSocket endpoint: its frames are described in docs/protocol.md',
}
type Tag = keyof typeof TAGS

export const SECURITY_SCHEMES = {
  session: { type: 'apiKey', in: 'cookie', name: 'sid', description: 'The session cookie set by register, login and /auth/external' },
  bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from POST /auth/token' },
} as const

type Requirement = Partial<Record<keyof typeof SECURITY_SCHEMES, never[]>>
const signedIn: Requirement[] = [{ session: [] }, { bearer: [] }]

/** Who may call a route, and the errors that follow from it: a credential is looked up in Postgres. */
const ACCESS = {
  /** No credential. */
  none: { security: [], errors: [] },
  /** A credential or none; one that is presented must be valid. */
  optional: { security: [{}, ...signedIn], errors: [401, 503] },
  user: { security: signedIn, errors: [401, 503] },
  admin: { security: signedIn, errors: [401, 403, 503] },
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
