import { REPLY_QUOTE_CHARS } from './limits.js'
import type { ChatEvent, MessageView, ReplyQuote } from './wire.js'

/**
 * Conversation events: what happened in a conversation, each with its own seq in the conversation's
 * log, and the `events` frames that carry them to clients, live and on resume alike. Every event is
 * built by one of the constructors below, whether it was just written or read back from the log, so
 * that each has one shape; it is serialised once, and frames are joined from that JSON.
 */

export const conversationUrl = (conversationId: number) => `/api/conversations/${conversationId}`
export const messageUrl = (conversationId: number, seq: number) => `/api/conversations/${conversationId}/${seq}`

export const messageView = (
  conversationId: number,
  seq: number,
  user: string,
  text: string,
  timestamp: Date,
  edited: Date | null,
  replyTo?: ReplyQuote,
): MessageView => ({
  user,
  text,
  timestamp: timestamp.toISOString(),
  url: messageUrl(conversationId, seq),
  edited: edited === null ? null : edited.toISOString(),
  ...(replyTo && { replyTo }),
})

/** The start of a message's text as a quote shows it: REPLY_QUOTE_CHARS code points, then `…` if there is more. */
export function quoteOf(text: string): string {
  const chars = [...text]
  return chars.length > REPLY_QUOTE_CHARS ? chars.slice(0, REPLY_QUOTE_CHARS).join('') + '…' : text
}

/** The quote of message `seq` in a reply's view; `text` may be cut already, to no less than REPLY_QUOTE_CHARS + 1 code points. */
export const replyQuote = (conversationId: number, seq: number, user: string, text: string, deleted: boolean): ReplyQuote => ({
  seq,
  url: messageUrl(conversationId, seq),
  user,
  text: deleted ? '' : quoteOf(text),
  ...(deleted && { deleted: true as const }),
})

export const messageCreated = (conversationId: number, seq: number, message: MessageView, deleted: boolean): ChatEvent => ({
  type: 'message.created',
  conversationId,
  seq,
  message: deleted ? { ...message, deleted: true } : message,
})

export const messageDeleted = (conversationId: number, seq: number, messageSeq: number): ChatEvent => ({
  type: 'message.deleted',
  conversationId,
  seq,
  messageSeq,
  url: messageUrl(conversationId, messageSeq),
})

export const messageEdited = (conversationId: number, seq: number, messageSeq: number, text: string, edited: Date): ChatEvent => ({
  type: 'message.edited',
  conversationId,
  seq,
  messageSeq,
  url: messageUrl(conversationId, messageSeq),
  text,
  edited: edited.toISOString(),
})

export const memberAdded = (conversationId: number, seq: number, user: string, by: string): ChatEvent => ({
  type: 'member.added',
  conversationId,
  seq,
  user,
  by,
})

export const memberRemoved = (conversationId: number, seq: number, user: string, by: string, userId: number): ChatEvent => ({
  type: 'member.removed',
  conversationId,
  seq,
  user,
  by,
  userId,
})

/** An event serialised once, with the fields that route it kept beside the JSON. */
export interface EncodedEvent {
  conversationId: number
  seq: number
  /** A member removed by this event: from it on, their sockets get nothing more of the conversation. */
  removes?: number
  json: string
}

/** A conversation's log after some seq, serialised for the wire, and its last seq. */
export interface EncodedLog {
  lastSeq: number
  events: EncodedEvent[]
}

export function encodeEvent(event: ChatEvent): EncodedEvent {
  if (event.type === 'member.removed') {
    const { userId, ...visible } = event
    return { conversationId: event.conversationId, seq: event.seq, removes: userId, json: JSON.stringify(visible) }
  }
  return { conversationId: event.conversationId, seq: event.seq, json: JSON.stringify(event) }
}

/**
 * The most an events frame holds, in bytes, unless one event alone is larger. It keeps every frame
 * well below the slow-consumer bound (WS_MAX_BUFFERED_BYTES), so that a burst of events (a gap
 * filled from Postgres, a long backfill) is never one frame too large for a socket that reads.
 */
export const FRAME_MAX_BYTES = 64 * 1024

const EVENTS_HEAD = '{"type":"events","events":['
const EVENTS_TAIL = ']}'

/**
 * The server frames that carry events, in order, each at most `maxBytes`. Built from each event's
 * JSON, already serialised once when it was published, so a frame costs one string join and one Buffer.
 */
export function encodeEventsFrames(events: readonly EncodedEvent[], maxBytes = FRAME_MAX_BYTES): Buffer[] {
  const frames: Buffer[] = []
  let body = ''
  let bytes = 0
  for (const event of events) {
    // JSON from JSON.stringify may hold multi-byte characters; a frame's limit is in bytes.
    const size = Buffer.byteLength(event.json)
    if (body !== '' && bytes + size + 1 > maxBytes) {
      frames.push(Buffer.from(EVENTS_HEAD + body + EVENTS_TAIL))
      body = ''
      bytes = 0
    }
    body += (body === '' ? '' : ',') + event.json
    bytes += size + 1
  }
  if (body !== '') frames.push(Buffer.from(EVENTS_HEAD + body + EVENTS_TAIL))
  return frames
}
