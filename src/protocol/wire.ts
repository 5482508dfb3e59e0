import Type, { type Static } from 'typebox'
import type { ChatErrorCode } from '../errors.js'
import { ClientMsgId, MessageText } from './fields.js'

/**
 * The shapes of the WebSocket protocol, both ways: every client frame as a schema, every server
 * frame, event and notice as a type. docs/protocol.md describes each. Nothing here needs Node, so
 * the client SDK takes its types from this file; frames.ts and events.ts build and parse them.
 */

const ConversationId = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })
/** A message's seq in its conversation. */
const Seq = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })

export const ClientFrameSchema = Type.Union([
  Type.Object(
    {
      type: Type.Literal('subscribe'),
      id: Type.Optional(ClientMsgId),
      conversationId: ConversationId,
      afterSeq: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { type: Type.Literal('unsubscribe'), id: Type.Optional(ClientMsgId), conversationId: ConversationId },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('send'),
      id: ClientMsgId,
      conversationId: ConversationId,
      text: MessageText,
      replyTo: Type.Optional(Seq),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { type: Type.Literal('typing'), id: Type.Optional(ClientMsgId), conversationId: ConversationId },
    { additionalProperties: false },
  ),
  Type.Object({ type: Type.Literal('ping'), id: Type.Optional(ClientMsgId) }, { additionalProperties: false }),
])

export type ClientFrame = Static<typeof ClientFrameSchema>

/** The message shape of the REST API, shared by WebSocket events. */
export interface MessageView {
  user: string
  text: string
  timestamp: string
  url: string
  /** When the text was last edited; null if never. */
  edited: string | null
  /** Only on a reply: the message it replies to, as it is now. */
  replyTo?: ReplyQuote
}

/** The quote of the message a reply replies to: its author and the start of its text (REPLY_QUOTE_CHARS). */
export interface ReplyQuote {
  seq: number
  url: string
  user: string
  /** The first REPLY_QUOTE_CHARS code points, then `…` if there is more; empty once deleted. */
  text: string
  /** Present once the message is deleted. */
  deleted?: true
}

export type ChatEvent =
  | {
      type: 'message.created'
      conversationId: number
      seq: number
      /** `deleted: true` (and empty text) when the message was deleted after it was posted; its current text when edited. */
      message: MessageView & { deleted?: true }
    }
  | {
      type: 'message.deleted'
      conversationId: number
      seq: number
      /** The seq of the deleted message, which is also its id in its url. */
      messageSeq: number
      url: string
    }
  | {
      type: 'message.edited'
      conversationId: number
      seq: number
      messageSeq: number
      url: string
      text: string
      edited: string
    }
  | {
      type: 'member.added' | 'member.removed'
      conversationId: number
      seq: number
      /** The member. */
      user: string
      /** Who added or removed them: the member themselves for a join or a leave. */
      by: string
      /** For member.removed: the member's id, which ends their subscriptions (not sent to clients). */
      userId?: number
    }

/** Error codes of error frames: the domain's, and the protocol's own. */
export type ErrorFrameCode = ChatErrorCode | 'bad_frame' | 'busy' | 'internal'

/** Frames for every socket of a user, on every node. */
export type Notice =
  | { type: 'read'; conversationId: number; seq: number; unread: number; mentions: number }
  | { type: 'mention'; conversationId: number; seq: number; url: string; by: string; text: string }
  | { type: 'receipt'; conversationId: number; user: string; seq: number }
  | { type: 'conversation.added'; conversationId: number; url: string; by: string }
  | { type: 'conversation.removed'; conversationId: number; by: string }
  | { type: 'conversation.hidden'; conversationId: number }
  | { type: 'presence'; user: string; online: boolean }

/** Frames for a conversation's subscribers at this moment, not stored. */
export type Signal = { type: 'typing'; conversationId: number; user: string; expiresInMs: number }

/** Every server frame but `events`. */
export type ServerFrame =
  | { type: 'welcome'; user: string | null }
  | { type: 'subscribed'; id: string | undefined; conversationId: number; lastSeq: number; complete: boolean }
  | { type: 'unsubscribed'; id: string | undefined; conversationId: number }
  | { type: 'unsubscribed'; conversationId: number; reason: 'removed' }
  | { type: 'ack'; id: string; conversationId: number; seq: number; message: MessageView }
  | { type: 'pong'; id: string | undefined }
  | { type: 'error'; id?: string; code: ErrorFrameCode; message: string; retryAfterSeconds?: number }
  | Notice
  | Signal

/** The frame that carries conversation events (built in events.ts from events serialised once). */
export type EventsFrame = { type: 'events'; events: ChatEvent[] }
