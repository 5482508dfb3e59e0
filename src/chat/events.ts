import type { LogRow } from '../storage/messages.js'
import { type MessageView, messageUrl, toMessageView } from './views.js'

/** What happened in a conversation. Every event has its own seq in the conversation's log. */
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

/**
 * A frame for every socket of some users, wherever they are connected (read markers, receipts,
 * conversations added or removed, presence). Not stored: a client that was away reads the state over REST.
 */
export interface UserNotice {
  userIds: number[]
  json: string
}

/** A frame for a conversation's subscribers at this moment, except one user's sockets (typing). Not stored, no seq. */
export interface ConversationSignal {
  conversationId: number
  exceptUserId: number
  json: string
}

export function encodeEvent(event: ChatEvent): EncodedEvent {
  if (event.type === 'member.removed') {
    const { userId, ...visible } = event
    return { conversationId: event.conversationId, seq: event.seq, removes: userId, json: JSON.stringify(visible) }
  }
  return { conversationId: event.conversationId, seq: event.seq, json: JSON.stringify(event) }
}

export function logRowToEvent(row: LogRow): ChatEvent {
  const conversationId = row.conversation_id
  const seq = row.seq
  switch (row.kind) {
    case 'tombstone': {
      const messageSeq = row.target_seq as number
      return { type: 'message.deleted', conversationId, seq, messageSeq, url: messageUrl(conversationId, messageSeq) }
    }
    case 'edit': {
      const messageSeq = row.target_seq as number
      const edited = row.created_at.toISOString()
      return { type: 'message.edited', conversationId, seq, messageSeq, url: messageUrl(conversationId, messageSeq), text: row.text, edited }
    }
    case 'member_added':
      return { type: 'member.added', conversationId, seq, user: row.subject as string, by: row.username }
    case 'member_removed':
      return { type: 'member.removed', conversationId, seq, user: row.subject as string, by: row.username, userId: row.subject_id as number }
    case 'message': {
      const message = toMessageView(row)
      return { type: 'message.created', conversationId, seq, message: row.deleted_at === null ? message : { ...message, deleted: true } }
    }
  }
}
