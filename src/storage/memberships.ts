import { sql } from 'kysely'
import { unreadCount } from './conversations.js'
import { mentionCount } from './mentions.js'
import type { Db, Trx } from './db.js'
import type { MemberRole } from './schema.js'

/** Adds a member; resolves to false when they were one already. */
export async function insertMember(trx: Trx, conversationId: number, userId: number, role: MemberRole = 'member'): Promise<boolean> {
  const result = await trx
    .insertInto('memberships')
    .values({ conversation_id: conversationId, user_id: userId, role })
    .onConflict((c) => c.doNothing())
    .executeTakeFirst()
  return (result.numInsertedOrUpdatedRows ?? 0n) > 0n
}

/** Removes a member; resolves to false when they were not one. */
export async function deleteMember(trx: Trx, conversationId: number, userId: number): Promise<boolean> {
  const result = await trx
    .deleteFrom('memberships')
    .where('conversation_id', '=', conversationId)
    .where('user_id', '=', userId)
    .executeTakeFirst()
  return result.numDeletedRows > 0n
}

export interface MemberRow {
  user_id: number
  username: string
  display_name: string | null
  role: MemberRole
  joined_at: Date
}

/** Members in the order they joined (then by id), after a user id when paging; at most `limit`. */
export async function listMembers(db: Db, conversationId: number, limit: number, afterUserId = 0): Promise<MemberRow[]> {
  return db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select(['memberships.user_id', 'users.username', 'users.display_name', 'memberships.role', 'memberships.joined_at'])
    .where('memberships.conversation_id', '=', conversationId)
    .where('memberships.user_id', '>', afterUserId)
    .orderBy('memberships.user_id')
    .limit(limit)
    .execute()
}

/** The other members of a conversation (both users of a direct one), by id. */
export async function memberIds(db: Db | Trx, conversationId: number): Promise<number[]> {
  const rows = await db.selectFrom('memberships').select('user_id').where('conversation_id', '=', conversationId).execute()
  return rows.map((r) => r.user_id)
}

/**
 * Moves a member's read marker forward to `seq` (never back, and no further than the conversation's
 * last seq). Resolves to the marker, the live posts by others still unread after it and the unread
 * mentions of the user among them (each counted up to `unreadMax`, as in the inbox), or undefined when
 * the user is not a member.
 */
export async function moveReadMarker(db: Db, conversationId: number, userId: number, seq: number, unreadMax: number) {
  const result = await sql<{ read_seq: number; moved: boolean; unread: number; mentions: number }>`
    WITH old AS (
           SELECT m.read_seq FROM memberships m WHERE m.conversation_id = ${conversationId} AND m.user_id = ${userId} FOR UPDATE),
         moved AS (
           UPDATE memberships m SET read_seq = greatest(old.read_seq, least(${seq}::int8, c.last_seq))
             FROM old, conversations c
            WHERE m.conversation_id = ${conversationId} AND m.user_id = ${userId} AND c.id = ${conversationId}
         RETURNING m.read_seq, m.read_seq > old.read_seq AS moved)
    SELECT moved.read_seq, moved.moved, ${unreadCount(conversationId, sql`moved.read_seq`, userId, unreadMax)} AS unread,
           ${mentionCount(conversationId, sql`moved.read_seq`, userId, unreadMax)} AS mentions
      FROM moved`.execute(db)
  return result.rows[0]
}

/** Hides a conversation from a member's inbox until a post after its newest one; false when not a member. */
export async function hideConversation(db: Db, conversationId: number, userId: number): Promise<boolean> {
  const result = await sql`
    UPDATE memberships m SET hidden_seq = c.last_message_seq
      FROM conversations c
     WHERE c.id = m.conversation_id AND m.conversation_id = ${conversationId} AND m.user_id = ${userId}`.execute(db)
  return (result.numAffectedRows ?? 0n) > 0n
}

/**
 * For each user, their name and their contacts (the users they share a direct conversation with),
 * in one statement; undefined for a user who does not exist.
 */
export async function presenceAudiences(db: Db, userIds: readonly number[]): Promise<({ username: string; contacts: number[] } | undefined)[]> {
  // pg reads an int8[] as strings.
  const result = await sql<{ id: number; username: string; contacts: string[] }>`
    SELECT u.id, u.username, ARRAY(
             SELECT o.user_id FROM memberships m
               JOIN conversations c ON c.id = m.conversation_id AND c.kind = 'direct'
               JOIN memberships o ON o.conversation_id = m.conversation_id AND o.user_id <> m.user_id
              WHERE m.user_id = u.id) AS contacts
      FROM users u WHERE u.id = ANY(${[...userIds]}::int8[]) AND u.deleted_at IS NULL`.execute(db)
  const byId = new Map(result.rows.map((row) => [row.id, { username: row.username, contacts: row.contacts.map(Number) }]))
  return userIds.map((id) => byId.get(id))
}
