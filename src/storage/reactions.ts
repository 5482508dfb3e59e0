import { sql } from 'kysely'
import type { Db, Trx } from './db.js'

/** One user's reaction to one message. */
export interface ReactionKey {
  conversationId: number
  messageSeq: number
  emoji: string
  userId: number
}

/** One emoji's reactions to a message, as one user sees them. */
export interface ReactionSummary {
  emoji: string
  count: number
  me: boolean
}

/**
 * The reactions of some messages of a conversation, as `userId` (undefined: not logged in) sees them:
 * for each message that has any, its emoji in the order each was first used, with how many users
 * reacted with each and whether `userId` is one of them. One statement, on the primary key.
 */
export async function reactionsOf(
  db: Db | Trx,
  conversationId: number,
  messageSeqs: readonly number[],
  userId: number | undefined,
): Promise<Map<number, ReactionSummary[]>> {
  const bySeq = new Map<number, ReactionSummary[]>()
  if (messageSeqs.length === 0) return bySeq
  const rows = await db
    .selectFrom('reactions')
    .select([
      'message_seq',
      'emoji',
      sql<number>`count(*)::int`.as('count'),
      sql<boolean>`coalesce(bool_or(user_id = ${userId ?? null}), false)`.as('me'),
    ])
    .where('conversation_id', '=', conversationId)
    .where('message_seq', 'in', [...messageSeqs])
    .groupBy(['message_seq', 'emoji'])
    .orderBy('message_seq')
    .orderBy(sql`min(created_at)`)
    .orderBy('emoji')
    .execute()
  for (const { message_seq: seq, emoji, count, me } of rows) {
    const summaries = bySeq.get(seq) ?? []
    summaries.push({ emoji, count, me })
    bySeq.set(seq, summaries)
  }
  return bySeq
}

/**
 * Records a reaction; the caller holds the conversation's row lock and has seen that it is not there.
 * `at` is the time of its log row, so that reactions are ordered as their seqs are.
 */
export async function insertReaction(trx: Trx, key: ReactionKey, at: Date): Promise<void> {
  await trx
    .insertInto('reactions')
    .values({ conversation_id: key.conversationId, message_seq: key.messageSeq, emoji: key.emoji, user_id: key.userId, created_at: at })
    .execute()
}

/** Takes a reaction back; the caller holds the conversation's row lock and has seen that it is there. */
export async function deleteReaction(trx: Trx, key: ReactionKey): Promise<void> {
  await trx
    .deleteFrom('reactions')
    .where('conversation_id', '=', key.conversationId)
    .where('message_seq', '=', key.messageSeq)
    .where('emoji', '=', key.emoji)
    .where('user_id', '=', key.userId)
    .execute()
}

/** Drops every reaction to a message that is being deleted: like its text, who reacted and how goes with it. */
export async function dropReactions(trx: Trx, conversationId: number, messageSeq: number): Promise<void> {
  await trx.deleteFrom('reactions').where('conversation_id', '=', conversationId).where('message_seq', '=', messageSeq).execute()
}
