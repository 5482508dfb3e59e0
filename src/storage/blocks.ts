import type { Db, Trx } from './db.js'

/** Resolves to false when the block was there already. */
export async function insertBlock(db: Db, blockerId: number, blockedId: number): Promise<boolean> {
  const result = await db
    .insertInto('blocks')
    .values({ blocker_id: blockerId, blocked_id: blockedId })
    .onConflict((c) => c.doNothing())
    .executeTakeFirst()
  return (result.numInsertedOrUpdatedRows ?? 0n) > 0n
}

/** Resolves to false when there was no such block. */
export async function deleteBlock(db: Db, blockerId: number, blockedId: number): Promise<boolean> {
  const result = await db.deleteFrom('blocks').where('blocker_id', '=', blockerId).where('blocked_id', '=', blockedId).executeTakeFirst()
  return result.numDeletedRows > 0n
}

/** The users someone blocked, newest block first. */
export async function listBlocks(db: Db, blockerId: number) {
  return db
    .selectFrom('blocks')
    .innerJoin('users', 'users.id', 'blocks.blocked_id')
    .select(['users.username', 'blocks.created_at'])
    .where('blocks.blocker_id', '=', blockerId)
    .orderBy('blocks.created_at', 'desc')
    .execute()
}

/** Whether either of two users blocked the other. */
export async function blockedEitherWay(db: Db, a: number, b: number): Promise<boolean> {
  const row = await db
    .selectFrom('blocks')
    .select('blocker_id')
    .where((w) =>
      w.or([
        w.and([w('blocker_id', '=', a), w('blocked_id', '=', b)]),
        w.and([w('blocker_id', '=', b), w('blocked_id', '=', a)]),
      ]),
    )
    .executeTakeFirst()
  return row !== undefined
}

/**
 * Whether a block, either way, stands between `userId` and another member of the conversation: in a
 * direct one, between its two users. append_messages (migrations/0004) asks the same of a post.
 */
export async function blockedWithinConversation(db: Db | Trx, conversationId: number, userId: number): Promise<boolean> {
  const row = await db
    .selectFrom('memberships as other')
    .innerJoin('blocks', (join) =>
      join.on((w) =>
        w.or([
          w.and([w('blocks.blocker_id', '=', w.ref('other.user_id')), w('blocks.blocked_id', '=', userId)]),
          w.and([w('blocks.blocker_id', '=', userId), w('blocks.blocked_id', '=', w.ref('other.user_id'))]),
        ]),
      ),
    )
    .select('other.user_id')
    .where('other.conversation_id', '=', conversationId)
    .where('other.user_id', '<>', userId)
    .executeTakeFirst()
  return row !== undefined
}
