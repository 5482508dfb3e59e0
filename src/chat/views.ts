import {
  memberAdded,
  memberRemoved,
  messageCreated,
  messageDeleted,
  messageEdited,
  messageView,
  replyQuote,
} from '../protocol/events.js'
import type { ChatEvent, MessageView } from '../protocol/wire.js'
import type { LogRow } from '../storage/messages.js'

/** Rows of the conversation log as the API shows them. */

export function toMessageView(
  row: Pick<LogRow, 'username' | 'text' | 'created_at' | 'edited_at' | 'conversation_id' | 'seq'> & Partial<Pick<LogRow, 'reply_to'>>,
): MessageView {
  const target = row.reply_to
  const replyTo = target ? replyQuote(row.conversation_id, target.seq, target.user, target.text, target.deleted) : undefined
  return messageView(row.conversation_id, row.seq, row.username, row.text, row.created_at, row.edited_at, replyTo)
}

/** The event a log row records, as it was published when the row was written (a message as it is now). */
export function logRowToEvent(row: LogRow): ChatEvent {
  const { conversation_id: conversationId, seq } = row
  switch (row.kind) {
    case 'tombstone':
      return messageDeleted(conversationId, seq, row.target_seq as number)
    case 'edit':
      return messageEdited(conversationId, seq, row.target_seq as number, row.text, row.created_at)
    case 'member_added':
      return memberAdded(conversationId, seq, row.subject as string, row.username)
    case 'member_removed':
      return memberRemoved(conversationId, seq, row.subject as string, row.username, row.subject_id as number)
    case 'message':
      return messageCreated(conversationId, seq, toMessageView(row), row.deleted_at !== null)
  }
}
