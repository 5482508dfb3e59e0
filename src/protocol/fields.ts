import Type from 'typebox'
import { CLIENT_MSG_ID_MAX_CHARS, DISPLAY_NAME_MAX_CHARS, EMAIL_MAX_CHARS, PERSON_NAME_MAX_CHARS, TEXT_MAX_CHARS, TITLE_MAX_CHARS } from './limits.js'

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
/** A first or last name: 1 to 64 characters, not blank; null clears it. */
export const PersonName = Type.Union([Type.String({ minLength: 1, maxLength: PERSON_NAME_MAX_CHARS, pattern: NOT_BLANK }), Type.Null()])
/**
 * An email address, pragmatically (RFC 5321 paths without quoting, comments or address literals):
 * a dot-atom of ASCII before the '@' (64 characters at most), then a host name of labels of letters,
 * digits and inner hyphens (63 at most each), ending in a top-level label of 2 or more letters;
 * 254 characters in all. Null clears it.
 */
export const Email = Type.Union([
  Type.String({
    maxLength: EMAIL_MAX_CHARS,
    pattern:
      "^(?=[^@]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z]{2,63}$",
  }),
  Type.Null(),
])
/** A phone number in E.164: '+', then 8 to 15 digits, the first not 0; no spaces or punctuation. Null clears it. */
export const Phone = Type.Union([Type.String({ pattern: '^\\+[1-9][0-9]{7,14}$' }), Type.Null()])
