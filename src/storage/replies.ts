import { sql } from 'kysely'

/** What a reply's log row carries of the message it replies to (messages.reply_to_seq, migrations/0011). */

/** The message a reply replies to: its seq, author, whether it is deleted, and its text cut to REPLY_TARGET_CHARS. */
export interface ReplyTarget {
  seq: number
  user: string
  text: string
  deleted: boolean
}

/**
 * How much of the text of a message replied to is read with the reply: one code point more than a
 * quote shows (protocol/limits.ts REPLY_QUOTE_CHARS), so that the quote knows whether the text goes
 * on. append_messages (migrations/0011) reads as much.
 */
const REPLY_TARGET_CHARS = 101

/** The ReplyTarget of the log row aliased `row` as JSON, or null when it is no reply. */
export const replyTargetOf = (row: string) => sql<ReplyTarget | null>`(
  SELECT json_build_object('seq', o.seq, 'user', ou.username, 'text', left(o.text, ${REPLY_TARGET_CHARS}), 'deleted', o.deleted_at IS NOT NULL)
    FROM messages o JOIN users ou ON ou.id = o.author_id
   WHERE o.conversation_id = ${sql.ref(`${row}.conversation_id`)} AND o.seq = ${sql.ref(`${row}.reply_to_seq`)})`
