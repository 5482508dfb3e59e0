import type { LogRow } from '../storage/messages.js'
import { type MessageView, messageUrl, toMessageView } from './views.js'

/** What happened in a conversation. Every event has its own seq in the conversation's log. */
export type ChatEvent =
  | {
      type: 'message.created'
      conversationId: number
      seq: number
      /** `deleted: true` (and empty text) when the message was deleted after it was posted. */
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

/** An event serialised once, with the two fields that route it kept beside the JSON. */
export interface EncodedEvent {
  conversationId: number
  seq: number
  json: string
}

/** A conversation's log after some seq, serialised for the wire, and its last seq. */
export interface EncodedLog {
  lastSeq: number
  events: EncodedEvent[]
}

export function encodeEvent(event: ChatEvent): EncodedEvent {
  return { conversationId: event.conversationId, seq: event.seq, json: JSON.stringify(event) }
}

export function logRowToEvent(row: LogRow): ChatEvent {
  if (row.kind === 'tombstone') {
    const messageSeq = row.target_seq as number
    return {
      type: 'message.deleted',
      conversationId: row.conversation_id,
      seq: row.seq,
      messageSeq,
      url: messageUrl(row.conversation_id, messageSeq),
    }
  }
  const message = toMessageView(row)
  return {
    type: 'message.created',
    conversationId: row.conversation_id,
    seq: row.seq,
    message: row.deleted_at === null ? message : { ...message, deleted: true },
  }
}
