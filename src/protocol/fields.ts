import Type from 'typebox'
import { CLIENT_MSG_ID_MAX_CHARS, DISPLAY_NAME_MAX_CHARS, REACTION_EMOJI_MAX_CHARS, TEXT_MAX_CHARS, TITLE_MAX_CHARS } from './limits.js'

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
/** Opaque tokens are 43 characters; anything else is refused by the session layer, not the schema. */
export const OpaqueToken = Type.String({ maxLength: 256 })

/** A reaction's emoji as a schema: its length. isReactionEmoji says whether it is one emoji. */
export const ReactionEmoji = Type.String({ minLength: 1, maxLength: REACTION_EMOJI_MAX_CHARS })

/**
 * Exactly one emoji of Unicode's RGI set (recommended for general interchange), as the engine's
 * \p{RGI_Emoji} knows it: a single pictograph, or a sequence that shows as one (with a skin tone,
 * joined by ZWJ, a flag, a keycap), fully qualified (❤️ with U+FE0F, not ❤). A JSON schema pattern
 * cannot say this (\p{RGI_Emoji} needs the v flag), so the domain checks it after the schema (chat/reactions.ts).
 */
const ONE_RGI_EMOJI = new RegExp('^\\p{RGI_Emoji}$', 'v')

export const isReactionEmoji = (text: string): boolean => [...text].length <= REACTION_EMOJI_MAX_CHARS && ONE_RGI_EMOJI.test(text)
