/**
 * The protocol's numbers and names that both ends use: close codes, the subprotocol and the limits.
 * This module has no dependency, so that the client SDK takes these values from here at no cost.
 */

/** Close codes the server uses, besides 1009 (frame over maxPayload), which ws sends itself. */
export const CloseCode = {
  serviceRestart: 1012,
  /** The socket's session ended: logout, revocation, expiry, or its user was disabled or deleted. */
  sessionEnded: 4001,
  /** A socket that is not logged in tried to post or type. */
  loginRequired: 4003,
  slowConsumer: 4008,
} as const

/** The WebSocket subprotocol of this API; a browser offers it next to `bearer.<access token>`. */
export const WS_SUBPROTOCOL = 'chat.v1'
/** The prefix of the subprotocol that carries an access token. */
export const BEARER_SUBPROTOCOL_PREFIX = 'bearer.'
/** Largest client frame accepted; a larger one closes the socket with 1009. */
export const MAX_PAYLOAD_BYTES = 32 * 1024
export const MAX_SUBSCRIPTIONS_PER_SOCKET = 1000
/** Subscribe frames a socket may send per second, after a first burst of MAX_SUBSCRIPTIONS_PER_SOCKET. */
export const SUBSCRIBES_PER_SECOND = 20
/** Client frames waiting to be handled on one socket before further ones are refused. */
export const MAX_QUEUED_FRAMES = 100
/** A socket's typing frames for one conversation are relayed once per this, the rest dropped. */
export const TYPING_INTERVAL_MS = 3000
/** How long a client shows a typing indicator that nothing renews. */
export const TYPING_EXPIRES_MS = 6000

export const TEXT_MAX_CHARS = 4000
export const TITLE_MAX_CHARS = 200
export const DISPLAY_NAME_MAX_CHARS = 64
/** A first or last name of a profile. */
export const PERSON_NAME_MAX_CHARS = 64
/** An email address, as RFC 5321 bounds a path: 64 characters before the '@', 254 in all. */
export const EMAIL_MAX_CHARS = 254
export const CLIENT_MSG_ID_MAX_CHARS = 64
/** Distinct emoji one message may carry: a new one past this is refused, while the ones there may still be added to. */
export const REACTIONS_PER_MESSAGE_MAX = 20
/** The most code points a reaction's emoji may have: the longest emoji of Unicode's RGI set has 10. */
export const REACTION_EMOJI_MAX_CHARS = 16
/** Members a new conversation may be created with. */
export const INITIAL_MEMBERS_MAX = 100
/** A reply's view quotes this many code points of the message it replies to, then `…` when there is more. */
export const REPLY_QUOTE_CHARS = 100
/** Distinct users one message may mention; `@names` past these are plain text. */
export const MENTIONS_MAX = 20
/** The longest search query, in characters (GET /api/search). */
export const SEARCH_QUERY_MAX_CHARS = 256
/** Search results on one page: by default, and at most. */
export const SEARCH_PAGE_DEFAULT = 20
export const SEARCH_PAGE_MAX = 100
/** A ranked search ranks at most this many of the newest matches (docs/api.md, Search). */
export const SEARCH_RANK_WINDOW = 200
