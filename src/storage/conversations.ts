import { type RawBuilder, sql } from 'kysely'
import type { Db, Trx } from './db.js'
import { mentionCount } from './mentions.js'
import type { ConversationKind, MemberRole } from './schema.js'

export interface NewConversation {
  title: string
  kind: ConversationKind
  createdBy: number
  directKey?: string
}

/** Inserts a conversation; its creator becomes its owner. */
export async function insertConversation(trx: Trx, conversation: NewConversation): Promise<number> {
  const { id } = await trx
    .insertInto('conversations')
    .values({ title: conversation.title, kind: conversation.kind, created_by: conversation.createdBy, direct_key: conversation.directKey ?? null })
    .returning('id')
    .executeTakeFirstOrThrow()
  await trx.insertInto('memberships').values({ conversation_id: id, user_id: conversation.createdBy, role: 'owner' }).execute()
  return id
}

/** The direct conversation with this key, if there is one. */
export async function findDirect(db: Db | Trx, directKey: string): Promise<number | undefined> {
  const row = await db.selectFrom('conversations').select('id').where('direct_key', '=', directKey).executeTakeFirst()
  return row?.id
}

/**
 * The newest conversations a user can see: open and public ones, and those they are a member of.
 * A direct conversation is titled with the other user's name.
 */
export async function listVisibleConversations(db: Db, userId: number, limit: number) {
  const result = await sql<{ id: number; title: string; message_count: number }>`
    SELECT c.id, ${titleFor(userId)} AS title, c.message_count
      FROM conversations c
     WHERE c.kind IN ('open', 'public')
        OR c.id IN (SELECT conversation_id FROM memberships WHERE user_id = ${userId})
     ORDER BY c.id DESC
     LIMIT ${limit}`.execute(db)
  return result.rows
}

/** For a direct conversation `c`, its user who is not `userId` as JSON (id, username, display_name); null for other kinds. */
const otherMember = (userId: number) => sql`CASE WHEN c.kind = 'direct' THEN (
  SELECT json_build_object('id', u.id, 'username', u.username, 'display_name', u.display_name)
    FROM memberships o JOIN users u ON u.id = o.user_id
   WHERE o.conversation_id = c.id AND o.user_id <> ${userId} LIMIT 1) END`

/** The conversation's title, or for a direct one the name of its user who is not `userId`. */
const titleFor = (userId: number) => sql`coalesce((${otherMember(userId)}) ->> 'username', c.title)`

/** Unread in conversation `conversationId` after `readSeq`: live posts by others than `userId`, counted up to `cap`. */
export const unreadCount = (conversationId: number | RawBuilder<unknown>, readSeq: RawBuilder<unknown>, userId: number, cap: number) => sql<number>`(
  SELECT count(*)::int FROM (
    SELECT 1 FROM messages x
     WHERE x.conversation_id = ${conversationId} AND x.seq > ${readSeq} AND x.kind = 'message'
       AND x.deleted_at IS NULL AND x.author_id <> ${userId}
     LIMIT ${cap}) unread)`

export interface AccessRequest {
  conversationId: number
  /** Undefined for someone not logged in. */
  userId: number | undefined
}

/** What a user is to a conversation: its kind and their role in it (null when not a member). */
export interface AccessRow {
  kind: ConversationKind
  role: MemberRole | null
}

/** For each request, the conversation's kind and the user's role in it; undefined when it does not exist. One statement. */
export async function findAccess(db: Db, requests: readonly AccessRequest[]): Promise<(AccessRow | undefined)[]> {
  const result = await sql<{ i: number; kind: ConversationKind; role: MemberRole | null }>`
    SELECT q.i, c.kind, m.role
      FROM unnest(${requests.map((r) => r.conversationId)}::int8[], ${requests.map((r) => r.userId ?? null)}::int8[])
           WITH ORDINALITY AS q(conversation_id, user_id, i)
      JOIN conversations c ON c.id = q.conversation_id
      LEFT JOIN memberships m ON m.conversation_id = q.conversation_id AND m.user_id = q.user_id`.execute(db)
  const byIndex = new Map(result.rows.map((row) => [row.i, { kind: row.kind, role: row.role }]))
  return requests.map((_, i) => byIndex.get(i + 1))
}

/** Where an inbox page starts: after this activity time (Postgres' own text, to the microsecond) and id. */
export interface InboxCursor {
  activityAt: string
  id: number
}

export interface InboxRow {
  id: number
  kind: ConversationKind
  title: string
  activity_at: string
  last_seq: number
  read_seq: number
  unread: number
  /** Unread mentions of the user, counted as unread is. */
  mentions: number
  /** For a direct conversation: the other user. */
  other: { id: number; username: string; display_name: string | null } | null
  /** The newest live post, as a log row in JSON, or null. */
  last_message: { seq: number; username: string; text: string; created_at: string; edited_at: string | null } | null
}

/**
 * One page of a user's conversations, most recent activity first, leaving out those hidden since
 * their last post. Unread counts are the live posts by others after the read marker, and mention
 * counts those of them that mention the user, each counted up to `unreadMax`: the cost of a page is bounded however much is unread. The subqueries are in the
 * select list, so Postgres runs them for the page's rows only, after the sort and limit.
 */
export async function listInbox(db: Db, userId: number, options: { limit: number; after?: InboxCursor; unreadMax: number }): Promise<InboxRow[]> {
  const after = options.after
  const result = await sql<InboxRow>`
    SELECT c.id, c.kind, c.title, c.activity_at::text AS activity_at, c.last_seq, m.read_seq,
           ${unreadCount(sql`c.id`, sql`m.read_seq`, userId, options.unreadMax)} AS unread,
           ${mentionCount(sql`c.id`, sql`m.read_seq`, userId, options.unreadMax)} AS mentions,
           ${otherMember(userId)} AS other,
           (SELECT json_build_object('seq', l.seq, 'username', lu.username, 'text', l.text,
                                     'created_at', l.created_at, 'edited_at', l.edited_at)
              FROM messages l JOIN users lu ON lu.id = l.author_id
             WHERE l.conversation_id = c.id AND l.kind = 'message' AND l.deleted_at IS NULL
             ORDER BY l.seq DESC LIMIT 1) AS last_message
      FROM memberships m
      JOIN conversations c ON c.id = m.conversation_id
     WHERE m.user_id = ${userId}
       AND (m.hidden_seq IS NULL OR c.last_message_seq > m.hidden_seq)
       ${after ? sql`AND (c.activity_at, c.id) < (${after.activityAt}::timestamptz, ${after.id})` : sql``}
     ORDER BY c.activity_at DESC, c.id DESC
     LIMIT ${options.limit}`.execute(db)
  return result.rows
}
