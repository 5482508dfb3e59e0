import Type, { type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { ClientMsgId, MessageText } from '../chat/fields.js'
import { CLIENT_MSG_ID_MAX_CHARS } from '../chat/messages.js'
import type { ChatErrorCode } from '../errors.js'

/** docs/protocol.md describes every frame and code here. */

/** Close codes the server uses, besides 1009 (frame over maxPayload), which ws sends itself. */
export const CloseCode = {
  serviceRestart: 1012,
  /** The socket's session ended: logout, revocation, expiry, or its user was disabled or deleted. */
  sessionEnded: 4001,
  /** A socket that is not logged in tried to post or type. */
  loginRequired: 4003,
  slowConsumer: 4008,
} as const

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

/** Error codes of error frames: the domain's, and the protocol's own. */
export type ErrorFrameCode = ChatErrorCode | 'bad_frame' | 'busy' | 'internal'

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

export function encodeFrame(frame: object): Buffer {
  return Buffer.from(JSON.stringify(frame))
}
