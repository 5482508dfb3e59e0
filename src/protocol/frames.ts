import Type, { type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import type { ChatErrorCode } from '../errors.js'
import type { MessageView } from './events.js'
import { ClientMsgId, MessageText } from './fields.js'
import { CLIENT_MSG_ID_MAX_CHARS } from './limits.js'

/**
 * Every frame of the WebSocket protocol, both ways, and its close codes: docs/protocol.md describes
 * each one. Frames are JSON text.
 */

// Client frames.

const ConversationId = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })

const ClientFrameSchema = Type.Union([
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

const clientFrame = Compile(ClientFrameSchema)

export type ParsedFrame = { ok: true; frame: ClientFrame } | { ok: false; message: string; id?: string }

export function parseClientFrame(data: string): ParsedFrame {
  let value: unknown
  try {
    value = JSON.parse(data)
  } catch {
    return { ok: false, message: 'frame is not JSON' }
  }
  if (clientFrame.Check(value)) return { ok: true, frame: value }
  // Echo the id of a frame that failed only its other fields, so the client can match the error.
  const id = (value as { id?: unknown } | null)?.id
  const echo = typeof id === 'string' && id.length <= CLIENT_MSG_ID_MAX_CHARS ? id : undefined
  const type = (value as { type?: unknown } | null)?.type
  const known = ['subscribe', 'unsubscribe', 'send', 'typing', 'ping'].includes(type as string)
  return { ok: false, message: known ? `invalid ${type} frame` : 'unknown frame type', id: echo }
}

// Server frames. `events` frames are built in events.ts, from events serialised once.

/** Error codes of error frames: the domain's, and the protocol's own. */
export type ErrorFrameCode = ChatErrorCode | 'bad_frame' | 'busy' | 'internal'

/** Frames for every socket of a user, on every node. */
export type Notice =
  | { type: 'read'; conversationId: number; seq: number; unread: number }
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

export function encodeFrame(frame: ServerFrame): Buffer {
  return Buffer.from(JSON.stringify(frame))
}

/** Tells a socket that a removal ended its subscription. */
export const removedFrame = (conversationId: number) => encodeFrame({ type: 'unsubscribed', conversationId, reason: 'removed' })
