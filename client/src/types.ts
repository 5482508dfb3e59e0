import type { ChatEvent as LogEvent, ErrorFrameCode, MessageView, Notice, ReplyQuote, ServerFrame, Signal } from '../../src/protocol/wire.js'

/**
 * The client's types, taken from the server's own definitions (src/protocol/): the REST shapes from
 * the JSON schemas the routes validate with, the frames from the protocol's types.
 */

export type {
  Block,
  ConversationSummary,
  ErrorBody,
  InboxItem,
  InboxPage,
  Invite,
  InviteOptions,
  InvitePreview,
  Member,
  MemberPage,
  Message,
  MessageWithReactions,
  NewConversation,
  NewInvite,
  NewUserFields,
  Profile,
  ProfileChanges,
  ReactionChange,
  Reaction,
  ReadMarker,
  Readiness,
  ReplyPage,
  Registration,
  SearchPage,
  SearchResult,
  Session,
  Tokens,
  User,
  UserChanges,
  UserPage,
} from '../../src/protocol/rest.js'
export type { ErrorFrameCode, MessageView, Notice, ReplyQuote, Signal }

type WithoutUserId<E> = E extends unknown ? Omit<E, 'userId'> : never
/** A conversation event as clients receive it. */
export type ChatEvent = WithoutUserId<LogEvent>
export type EventOf<T extends ChatEvent['type']> = Extract<ChatEvent, { type: T }>
export type NoticeOf<T extends Notice['type']> = Extract<Notice, { type: T }>
export type ErrorFrame = Extract<ServerFrame, { type: 'error' }>
/** Every frame the server sends. */
export type IncomingFrame = ServerFrame | { type: 'events'; events: ChatEvent[] }

/** A message the server stored for a send(): where it is and how it reads. */
export interface SentMessage {
  conversationId: number
  seq: number
  message: MessageView
}

/** The connection's state, as a UI shows it. */
export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed'

/** Everything a ChatClient emits. */
export interface ClientEvents {
  /** Every conversation event, once each, in seq order per conversation. */
  event: ChatEvent
  'message.created': EventOf<'message.created'>
  'message.edited': EventOf<'message.edited'>
  'message.deleted': EventOf<'message.deleted'>
  'member.added': EventOf<'member.added' | 'member.removed'> & { type: 'member.added' }
  'member.removed': EventOf<'member.added' | 'member.removed'> & { type: 'member.removed' }
  'reaction.added': EventOf<'reaction.added' | 'reaction.removed'> & { type: 'reaction.added' }
  'reaction.removed': EventOf<'reaction.added' | 'reaction.removed'> & { type: 'reaction.removed' }
  read: NoticeOf<'read'>
  /** A message mentions the user (docs/api.md, "Mentions"). */
  mention: NoticeOf<'mention'>
  receipt: NoticeOf<'receipt'>
  'conversation.added': NoticeOf<'conversation.added'>
  'conversation.removed': NoticeOf<'conversation.removed'>
  'conversation.hidden': NoticeOf<'conversation.hidden'>
  presence: NoticeOf<'presence'>
  typing: Signal
  /** The connection changed state; `code` is the close code that ended the last socket, if one did. */
  state: { state: ConnectionState; code?: number }
  /** A socket is open and welcomed; `user` is who it is logged in as (null: nobody). */
  connected: { user: string | null; resumed: boolean }
  /** The session ended (logout elsewhere, revocation, expiry) and no refresh token could renew it. Sign in again. */
  'session.ended': { reason: string }
  /** A subscription ended on the server's side: the user left or was removed. */
  unsubscribed: { conversationId: number; reason: 'removed' }
  /** A subscription was refused for good (not found, not allowed). */
  'subscription.failed': { conversationId: number; error: Error }
  /** Diagnostics: what the client went through (reconnects, resumes, retries). */
  diagnostic: Diagnostic
}

export type Diagnostic =
  | { type: 'close'; code: number; reason: string }
  | { type: 'error-frame'; code: ErrorFrameCode; message: string }
  | { type: 'incomplete-resume'; conversationId: number }
  | { type: 'seq-jump'; conversationId: number; expected: number; got: number }
  /** An event delivered already arrived again (the overlap of a resubscription after a jump) and was dropped. */
  | { type: 'repeat-dropped'; conversationId: number; seq: number }
  | { type: 'send-retry'; id: string }
  | { type: 'ack-timeout'; id: string }
  | { type: 'request-retry'; path: string; reason: string }
