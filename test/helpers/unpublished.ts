import type pg from 'pg'

/**
 * Commits a message as append_messages writes it, and tells the stream nothing: what a writer that
 * died between COMMIT and XADD leaves behind.
 */
export async function commitUnpublished(db: pg.Client, conversationId: number, username: string, text: string): Promise<void> {
  await db.query(
    `WITH c AS (UPDATE conversations SET last_seq = last_seq + 1, message_count = message_count + 1, last_message_seq = last_seq + 1,
                       last_event_at = greatest(clock_timestamp(), last_event_at)
                 WHERE id = $1 RETURNING id, last_seq, last_event_at)
     INSERT INTO messages (conversation_id, seq, kind, author_id, text, created_at)
     SELECT c.id, c.last_seq, 'message', u.id, $3, c.last_event_at FROM c, users u WHERE u.username = $2`,
    [conversationId, username, text],
  )
}
