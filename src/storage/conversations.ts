import type { Db } from './db.js'

export async function insertConversation(db: Db, title: string, createdBy: number): Promise<number> {
  const row = await db
    .insertInto('conversations')
    .values({ title, created_by: createdBy })
    .returning('id')
    .executeTakeFirstOrThrow()
  return row.id
}

/** Newest first. */
export async function listConversations(db: Db, limit: number) {
  return db
    .selectFrom('conversations')
    .select(['id', 'title', 'message_count'])
    .orderBy('id', 'desc')
    .limit(limit)
    .execute()
}

export async function conversationExists(db: Db, id: number): Promise<boolean> {
  const row = await db.selectFrom('conversations').select('id').where('id', '=', id).executeTakeFirst()
  return row !== undefined
}
