import Type, { type Static, type TSchema } from 'typebox'
import { INITIAL_MEMBERS_MAX } from './limits.js'
import { ClientMsgId, MessageText, ReactionEmoji, Title, Username } from './fields.js'
import { IdCursor, Nullable, QueryNumber } from './shape-parts.js'

export * from './account-shapes.js'

/**
 * The REST API's request and response shapes, as JSON schemas: the routes validate and serialise
 * with them (fastify sends no key a reply schema does not name), and the client SDK takes its types
 * from them. docs/api.md gives the rules beyond the shapes.
 */

// Shared replies.

export const StatusReply = Type.Object({ status: Type.String() })
export const StatusUrlReply = Type.Object({ status: Type.String(), url: Type.String() })

/** The quote of the message a reply replies to (wire.ts ReplyQuote). */
export const ReplyQuoteShape = Type.Object({
  seq: Type.Integer(),
  url: Type.String(),
  user: Type.String(),
  text: Type.String({ description: 'the first 100 code points of its text, then … if there is more; empty once deleted' }),
  deleted: Type.Optional(Type.Literal(true)),
})

export const MessageShape = Type.Object({
  user: Type.String(),
  text: Type.String(),
  timestamp: Type.String(),
  url: Type.String(),
  edited: Nullable(Type.String()),
  replyTo: Type.Optional(ReplyQuoteShape),
})

/** One emoji's reactions to a message: how many users reacted with it, and whether the reader is one of them. */
export const ReactionShape = Type.Object({ emoji: Type.String(), count: Type.Integer({ minimum: 1 }), me: Type.Boolean() })
/** A message as message reads show it: the message shape and its reactions, in the order each emoji was first used. */
export const MessageWithReactionsShape = Type.Object({ ...MessageShape.properties, reactions: Type.Array(ReactionShape) })

/** The JSON body of every error answer: `message` on 400s. */
export const ErrorReply = Type.Object({ status: Type.String(), message: Type.Optional(Type.String()) })

const RetryAfter = { 'Retry-After': Type.Integer({ minimum: 1, description: 'seconds to wait before trying again' }) }

/**
 * The error answers docs/api.md documents that a route can give, by status: the strings `status`
 * takes, whether a `message` is always there (any other error may carry one too) and whether
 * `Retry-After` says when to try again. Each route's schema names the statuses it can answer with
 * errorReplies; the error handler's bodies have exactly these fields, so serialising them through
 * these schemas drops nothing.
 */
const ERRORS = {
  400: { status: ['invalid request'], message: true, description: 'A body, field, parameter or header breaks the rules, or the request is not well-formed' },
  401: { status: ['unauthorised'], description: 'No valid credential: none, or one that is malformed, unknown, expired or revoked, or of a disabled user' },
  403: { status: ['unauthorised'], description: 'A valid credential that may not do this, or a foreign Origin (the CSRF rule)' },
  404: { status: ['not found'], description: 'Unknown, or not visible to the caller; usernames that name nobody are named in `message`' },
  409: { status: ['username taken', 'email taken'], description: 'The username, or the email, is in use, in any letter case' },
  410: { status: ['gone'], description: 'It existed and is no more: an invite that expired or was used up' },
  413: { status: ['payload too large'], message: true, description: 'A body over 64 KiB' },
  415: { status: ['unsupported media type'], message: true, description: 'A request that changes state with a body that is not JSON (the CSRF rule)' },
  426: { status: ['upgrade required'], message: true, description: 'Not a WebSocket handshake' },
  429: { status: ['too many requests'], retryAfter: true, description: 'Over a rate limit; nothing was done' },
  503: {
    status: ['overloaded', 'unavailable'],
    retryAfter: true,
    description: 'Too many requests wait for Postgres, or it cannot be reached: try again (a post with the same Idempotency-Key)',
  },
} satisfies Record<number, { status: string[]; message?: true; retryAfter?: true; description: string }>

export type ErrorStatus = keyof typeof ERRORS

const errorReply = ({ status, description, ...rules }: (typeof ERRORS)[ErrorStatus]) =>
  Type.Object(
    { status: Type.String({ enum: status }), message: 'message' in rules ? Type.String() : Type.Optional(Type.String()) },
    { description, ...('retryAfter' in rules && { headers: RetryAfter }) },
  )

/** The reply schemas of these error statuses, to go into a route's `response` beside its success replies. */
export function errorReplies(statuses: Iterable<ErrorStatus>): Record<number, TSchema> {
  return Object.fromEntries([...new Set(statuses)].map((status) => [status, errorReply(ERRORS[status])]))
}

// Conversations and messages.

export const CreateConversationBody = Type.Object({
  title: Title,
  kind: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('private'), Type.Literal('public')])),
  members: Type.Optional(Type.Array(Username, { maxItems: INITIAL_MEMBERS_MAX })),
})
export const PostMessageBody = Type.Object({
  text: MessageText,
  replyTo: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'the seq of a message of this conversation to reply to' })),
})
export const EditMessageBody = Type.Object({ text: MessageText }, { additionalProperties: false })
export const PostMessageHeaders = Type.Object({ 'idempotency-key': Type.Optional(ClientMsgId) })
export const MessagesQuery = Type.Object({ N: QueryNumber, limit: QueryNumber, before: QueryNumber, after: QueryNumber })

export const ConversationList = Type.Object({
  conversations: Type.Array(Type.Object({ title: Type.String(), msgcount: Type.Integer(), url: Type.String() })),
})
export const MessageList = Type.Object({ messages: Type.Array(MessageWithReactionsShape) })

// Reactions.

export const ReactionBody = Type.Object({ emoji: ReactionEmoji }, { additionalProperties: false })
/** A reaction added or removed: whether that changed anything, and the message's reactions now. */
export const ReactionReply = Type.Object({ status: Type.String(), changed: Type.Boolean(), reactions: Type.Array(ReactionShape) })
export const RepliesQuery = Type.Object({ after: IdCursor, limit: QueryNumber })
export const ReplyList = Type.Object({ replies: Type.Array(MessageWithReactionsShape), next: Nullable(Type.String()) })

// Members, read markers.

export const MemberBody = Type.Object({ username: Username }, { additionalProperties: false })
export const ReadBody = Type.Object({ seq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }) }, { additionalProperties: false })
export const MembersQuery = Type.Object({ after: IdCursor, limit: QueryNumber })
export const MemberList = Type.Object({
  members: Type.Array(Type.Object({ user: Type.String(), displayName: Nullable(Type.String()), role: Type.String(), joined: Type.String() })),
  next: Nullable(Type.String()),
})
export const ReadReply = Type.Object({ status: Type.String(), seq: Type.Integer(), unread: Type.Integer(), mentions: Type.Integer() })

// Invites.

/** Invites last a year at most, and admit a million joins at most. */
export const NewInviteBody = Type.Object(
  {
    expiresInSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 365 * 24 * 3600 })),
    maxUses: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  },
  { additionalProperties: false },
)
export const InviteShape = Type.Object({
  id: Type.Integer(),
  createdAt: Type.String(),
  expiresAt: Nullable(Type.String()),
  maxUses: Nullable(Type.Integer()),
  uses: Type.Integer(),
})
/** A new invite: the only time its token is shown. */
export const NewInviteReply = Type.Object({ ...InviteShape.properties, token: Type.String(), url: Type.String() })
export const InviteList = Type.Object({ invites: Type.Array(InviteShape) })
export const InvitePreviewReply = Type.Object({ title: Type.String(), members: Type.Integer() })

// The inbox, direct conversations and blocks.

export const BlockBody = Type.Object({ username: Username }, { additionalProperties: false })
export const InboxQuery = Type.Object({ cursor: Type.Optional(Type.String({ maxLength: 200 })), limit: QueryNumber })
export const InboxEntry = Type.Object({
  id: Type.Integer(),
  url: Type.String(),
  kind: Type.String(),
  title: Type.String(),
  user: Nullable(Type.Object({ username: Type.String(), displayName: Nullable(Type.String()), online: Type.Boolean() })),
  lastMessage: Nullable(MessageShape),
  lastSeq: Type.Integer(),
  readSeq: Type.Integer(),
  unread: Type.Integer(),
  mentions: Type.Integer(),
  activity: Type.String(),
})
export const InboxReply = Type.Object({ conversations: Type.Array(InboxEntry), next: Nullable(Type.String()) })
export const DirectReply = Type.Object({ status: Type.String(), url: Type.String(), user: Type.String() })
export const BlockList = Type.Object({ blocks: Type.Array(Type.Object({ username: Type.String(), since: Type.String() })) })

// Search.

export const SearchQuery = Type.Object({
  q: Type.Optional(Type.String({ description: 'the words to search for, as in a web search engine: "a phrase", or, -word; every other character is text' })),
  conversation: QueryNumber,
  order: Type.Optional(Type.String({ description: 'newest (the default) or rank' })),
  limit: QueryNumber,
  cursor: Type.Optional(Type.String()),
})
export const SearchResultShape = Type.Object({
  conversationId: Type.Integer(),
  seq: Type.Integer(),
  message: MessageShape,
  highlights: Type.Array(Type.Object({ start: Type.Integer(), end: Type.Integer() }), {
    description: "the matched words: [start, end) offsets into message.text, in UTF-16 code units (JavaScript string indices)",
  }),
  rank: Nullable(Type.Number()),
})
export const SearchReply = Type.Object({ results: Type.Array(SearchResultShape), next: Nullable(Type.String()) })

// Health.

export const ReadinessReply = Type.Object({ status: Type.String(), postgres: Type.Optional(Type.Boolean()), redis: Type.Optional(Type.Boolean()) })

/** The shapes above as TypeScript types, for the client SDK. */
export type Message = Static<typeof MessageShape>
export type ReplyPage = Static<typeof ReplyList>
export type Reaction = Static<typeof ReactionShape>
export type MessageWithReactions = Static<typeof MessageWithReactionsShape>
export type ReactionChange = Omit<Static<typeof ReactionReply>, 'status'>
export type ErrorBody = Static<typeof ErrorReply>
export type NewConversation = Static<typeof CreateConversationBody>
export type ConversationSummary = Static<typeof ConversationList>['conversations'][number]
export type MemberPage = Static<typeof MemberList>
export type Member = MemberPage['members'][number]
export type ReadMarker = Static<typeof ReadReply>
export type InboxItem = Static<typeof InboxEntry>
export type InboxPage = Static<typeof InboxReply>
export type Block = Static<typeof BlockList>['blocks'][number]
export type Invite = Static<typeof InviteShape>
export type NewInvite = Static<typeof NewInviteReply>
export type InviteOptions = Static<typeof NewInviteBody>
export type InvitePreview = Static<typeof InvitePreviewReply>
export type Readiness = Static<typeof ReadinessReply>
export type SearchResult = Static<typeof SearchResultShape>
export type SearchPage = Static<typeof SearchReply>
