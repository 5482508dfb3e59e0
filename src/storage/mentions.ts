import { type RawBuilder, sql } from 'kysely'
import type { Trx } from './db.js'

/**
 * Who a live post mentions (the `mentions` table, migrations/0011): written by append_messages with
 * the post, replaced by an edit, removed by a delete. mentionable_users, in SQL, decides who may be
 * mentioned, for posts and edits alike.
 */

/**
 * Replaces the users message `seq` mentions with those of `names` it may mention, after an edit.
 * Resolves to the users it mentions now and did not before (to be told).
 */
export async function replaceMentions(trx: Trx, conversationId: number, seq: number, authorId: number, names: readonly string[]): Promise<number[]> {
  const result = await sql<{ user_id: number }>`
    WITH now AS (SELECT unnest(mentionable_users(${conversationId}, ${authorId}, ${[...names]}::text[])) AS user_id),
         gone AS (DELETE FROM mentions WHERE conversation_id = ${conversationId} AND seq = ${seq}
                     AND user_id NOT IN (SELECT user_id FROM now))
    INSERT INTO mentions (conversation_id, seq, user_id)
    SELECT ${conversationId}, ${seq}, user_id FROM now
        ON CONFLICT DO NOTHING
    RETURNING user_id`.execute(trx)
  return result.rows.map((row) => row.user_id)
}

/** Forgets whom a deleted message mentioned. */
export async function dropMentions(trx: Trx, conversationId: number, seq: number): Promise<void> {
  await trx.deleteFrom('mentions').where('conversation_id', '=', conversationId).where('seq', '=', seq).execute()
}

/** Mentions of `userId` in conversation `conversationId` after `readSeq`, in live posts, counted up to `cap`. */
export const mentionCount = (conversationId: number | RawBuilder<unknown>, readSeq: RawBuilder<unknown>, userId: number, cap: number) => sql<number>`(
  SELECT count(*)::int FROM (
    SELECT 1 FROM mentions n
     WHERE n.user_id = ${userId} AND n.conversation_id = ${conversationId} AND n.seq > ${readSeq}
     LIMIT ${cap}) mentioned)`
