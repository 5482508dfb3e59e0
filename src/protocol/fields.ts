import Type from 'typebox'
import { CLIENT_MSG_ID_MAX_CHARS, DISPLAY_NAME_MAX_CHARS, TEXT_MAX_CHARS, TITLE_MAX_CHARS } from './limits.js'

/**
 * The user-supplied fields and their limits, as JSON schemas shared by the REST routes and the
 * WebSocket protocol. Postgres text cannot hold NUL, and bcrypt would stop reading a password at one,
 * so NUL is refused.
 */


const NO_NUL = '^[^\\u0000]*$'
/** No NUL, and at least one character that is not white space. */
const NOT_BLANK = '^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$'

export const Title = Type.String({ minLength: 1, maxLength: TITLE_MAX_CHARS, pattern: NOT_BLANK })
export const MessageText = Type.String({ minLength: 1, maxLength: TEXT_MAX_CHARS, pattern: NOT_BLANK })
/** A client's id for a post (REST Idempotency-Key, WebSocket frame id). */
export const ClientMsgId = Type.String({ minLength: 1, maxLength: CLIENT_MSG_ID_MAX_CHARS, pattern: NO_NUL })
/** Length rules beyond this (8 characters, 72 bytes) are checked by auth/passwords.ts, which can count bytes. */
export const Password = Type.String({ maxLength: 256, pattern: NO_NUL })
/** Any name offered at login; only registration checks its shape. */
export const Username = Type.String({ minLength: 1, maxLength: 64, pattern: NO_NUL })
export const DisplayName = Type.Union([Type.String({ minLength: 1, maxLength: DISPLAY_NAME_MAX_CHARS, pattern: NOT_BLANK }), Type.Null()])
/** A JWT in compact form: three base64url parts. */
export const CompactJwt = Type.String({ maxLength: 8192, pattern: '^[A-Za-z0-9_-]*\\.[A-Za-z0-9_-]*\\.[A-Za-z0-9_-]*$' })
/**
 * Opaque tokens are 43 characters; any other string (an access token sent in place of a refresh
 * token, say) is refused by the session layer as an invalid token (401), not by the schema (400).
 * The body limit bounds its length.
 */
export const OpaqueToken = Type.String()
