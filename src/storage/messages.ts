import { type Transaction, sql } from 'kysely'
import type { Db } from './db.js'
import type { Database } from './schema.js'

type Trx = Transaction<Database>

/** One row of the conversation log with its author's name. */
export interface LogRow {
  conversation_id: number
  seq: number
  kind: 'message' | 'tombstone'
  username: string
  text: string
  created_at: Date
  deleted_at: Date | null
  target_seq: number | null
}

const logColumns = [
  'messages.conversation_id',
  'messages.seq',
  'messages.kind',
  'users.username',
  'messages.text',
  'messages.created_at',
  'messages.deleted_at',
  'messages.target_seq',
] as const

/**
 * Takes the conversation's next seq and moves its message count, holding the row lock until the
 * transaction ends: that lock makes seq gapless and commit order equal seq order.
 * Resolves to undefined when the conversation does not exist.
 */
export async function takeNextSeq(trx: Trx, conversationId: number, countDelta: number): Promise<number | undefined> {
  const row = await trx
    .updateTable('conversations')
    .set({
      last_seq: sql`last_seq + 1`,
      message_count: sql`message_count + ${countDelta}`,
    })
    .where('id', '=', conversationId)
    .returning('last_seq')
    .executeTakeFirst()
  return row?.last_seq
}

/** A message to append; `rank` is its place (1, 2, …) among the batch's messages to its conversation. */
export interface NewMessage {
  conversationId: number
  rank: number
  authorId: number
  text: string
  clientMsgId: string | null
}

export interface AppendedBatch {
  /** Each conversation that exists, with its last seq before the batch: a message's seq is base + rank. */
  bases: Map<number, number>
  createdAt: Date
}

/**
 * Appends a batch of messages to any number of conversations with one call of append_messages
 * (migrations/0002): one round trip and one commit. Messages to conversations that do not exist are
 * skipped: their ids are missing from `bases`. A unique violation (a client id used twice) fails the
 * whole batch.
 */
export async function appendMessages(db: Db, messages: readonly NewMessage[]): Promise<AppendedBatch> {
  const column = <T>(pick: (m: NewMessage) => T) => messages.map(pick)
  const result = await sql<{ conversation_id: number; base: number; created_at: Date }>`
    SELECT * FROM append_messages(${column((m) => m.conversationId)}, ${column((m) => m.rank)}, ${column((m) => m.authorId)},
                                  ${column((m) => m.text)}, ${column((m) => m.clientMsgId)})`.execute(db)
  const bases = new Map<number, number>()
  for (const row of result.rows) bases.set(row.conversation_id, row.base)
  // now() is the transaction's start, which is also every inserted row's created_at.
  const createdAt = result.rows[0]?.created_at ?? new Date()
  return { bases, createdAt }
}

export async function insertLogRow(
  trx: Trx,
  row: {
    conversationId: number
    seq: number
    kind: 'message' | 'tombstone'
    authorId: number
    text: string
    targetSeq?: number
    clientMsgId?: string
  },
): Promise<Date> {
  const inserted = await trx
    .insertInto('messages')
    .values({
      conversation_id: row.conversationId,
      seq: row.seq,
      kind: row.kind,
      author_id: row.authorId,
      text: row.text,
      target_seq: row.targetSeq ?? null,
      client_msg_id: row.clientMsgId ?? null,
    })
    .returning('created_at')
    .executeTakeFirstOrThrow()
  return inserted.created_at
}

export async function findByClientMsgId(
  db: Db,
  conversationId: number,
  authorId: number,
  clientMsgId: string,
): Promise<LogRow | undefined> {
  return db
    .selectFrom('messages')
    .innerJoin('users', 'users.id', 'messages.author_id')
    .select(logColumns)
    .where('messages.conversation_id', '=', conversationId)
    .where('messages.author_id', '=', authorId)
    .where('messages.client_msg_id', '=', clientMsgId)
    .executeTakeFirst()
}

/** The n most recent messages that are not deleted, oldest first. */
export async function listRecentMessages(db: Db, conversationId: number, n: number): Promise<LogRow[]> {
  const newestFirst = await db
    .selectFrom('messages')
    .innerJoin('users', 'users.id', 'messages.author_id')
    .select(logColumns)
    .where('messages.conversation_id', '=', conversationId)
    .where('messages.kind', '=', 'message')
    .where('messages.deleted_at', 'is', null)
    .orderBy('messages.seq', 'desc')
    .limit(n)
    .execute()
  return newestFirst.reverse()
}

/** A message that is not deleted. */
export async function findMessage(db: Db | Trx, conversationId: number, seq: number): Promise<LogRow & { author_id: number } | undefined> {
  return db
    .selectFrom('messages')
    .innerJoin('users', 'users.id', 'messages.author_id')
    .select([...logColumns, 'messages.author_id'])
    .where('messages.conversation_id', '=', conversationId)
    .where('messages.seq', '=', seq)
    .where('messages.kind', '=', 'message')
    .where('messages.deleted_at', 'is', null)
    .executeTakeFirst()
}

/** Marks a message deleted and scrubs its text. Resolves to false when it was already gone. */
export async function markDeleted(trx: Trx, conversationId: number, seq: number): Promise<boolean> {
  const result = await trx
    .updateTable('messages')
    .set({ deleted_at: sql`now()`, text: '' })
    .where('conversation_id', '=', conversationId)
    .where('seq', '=', seq)
    .where('kind', '=', 'message')
    .where('deleted_at', 'is', null)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/**
 * The log after a seq, in order, and the conversation's last seq, read in one statement so that both
 * come from the same snapshot. Resolves to undefined when the conversation does not exist.
 */
export async function readLog(
  db: Db,
  conversationId: number,
  afterSeq: number,
  limit: number,
): Promise<{ lastSeq: number; rows: LogRow[] } | undefined> {
  const result = await sql<{ last_seq: number; rows: LogRow[] | null }>`
    SELECT c.last_seq,
           (SELECT json_agg(l ORDER BY l.seq) FROM (
              SELECT m.conversation_id, m.seq, m.kind, u.username, m.text, m.created_at, m.deleted_at, m.target_seq
                FROM messages m JOIN users u ON u.id = m.author_id
               WHERE m.conversation_id = c.id AND m.seq > ${afterSeq}
               ORDER BY m.seq
               LIMIT ${limit}) l) AS rows
      FROM conversations c
     WHERE c.id = ${conversationId}`.execute(db)
  const row = result.rows[0]
  if (!row) return undefined
  // json_agg returns timestamps as strings and bigints as numbers.
  const rows = (row.rows ?? []).map((r) => ({
    ...r,
    created_at: new Date(r.created_at),
    deleted_at: r.deleted_at === null ? null : new Date(r.deleted_at),
  }))
  return { lastSeq: row.last_seq, rows }
}
