import { Compile } from 'typebox/compile'
import { CLIENT_MSG_ID_MAX_CHARS } from './limits.js'
import { type ClientFrame, ClientFrameSchema, type ServerFrame } from './wire.js'

/**
 * Parsing client frames and encoding server frames (wire.ts holds their shapes). Frames are JSON text.
 */

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
  const known = ['subscribe', 'unsubscribe', 'send', 'typing', 'ping', 'read'].includes(type as string)
  return { ok: false, message: known ? `invalid ${type} frame` : 'unknown frame type', id: echo }
}

export function encodeFrame(frame: ServerFrame): Buffer {
  return Buffer.from(JSON.stringify(frame))
}

/** Tells a socket that a removal ended its subscription. */
export const removedFrame = (conversationId: number) => encodeFrame({ type: 'unsubscribed', conversationId, reason: 'removed' })
