import { type Transaction, sql } from 'kysely'
import { type Db, isUniqueViolation } from './db.js'
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
 * Takes the conversation's next seq for a tombstone (a delete, so one message fewer), holding the
 * row lock until the transaction ends: that lock makes seq gapless and commit order equal seq
 * order. Resolves to undefined when the conversation does not exist. Posts take their seqs in
 * append_messages.
 */
export async function takeTombstoneSeq(trx: Trx, conversationId: number): Promise<number | undefined> {
  const row = await trx
    .updateTable('conversations')
    .set({
      last_seq: sql`last_seq + 1`,
      message_count: sql`message_count - 1`,
    })
    .where('id', '=', conversationId)
    .returning('last_seq')
    .executeTakeFirst()
  return row?.last_seq
}

export interface MessageToAppend {
  conversationId: number
  authorId: number
  text: string
  clientMsgId: string | undefined
}

/** A message's seq, or undefined when its conversation does not exist. */
export type Appended = { seq: number; createdAt: Date } | undefined

/**
 * Appends messages to any number of conversations with one call of append_messages
 * (migrations/0002): one round trip and one commit. Each message gets the next seq of its
 * conversation, in the order given. A client id used before fails the whole statement; the batch is
 * then written one message at a time, so that only the retried message fails (with 23505).
 */
export async function appendMessages(db: Db, messages: readonly MessageToAppend[]): Promise<PromiseSettledResult<Appended>[]> {
  const ranks = new Map<number, number>()
  const rankOf = messages.map(({ conversationId }) => {
    const rank = (ranks.get(conversationId) ?? 0) + 1
    ranks.set(conversationId, rank)
    return rank
  })
  const column = <T>(pick: (m: MessageToAppend) => T) => messages.map(pick)
  let rows: { conversation_id: number; base: number; created_at: Date }[]
  try {
    const result = await sql<{ conversation_id: number; base: number; created_at: Date }>`
      SELECT * FROM append_messages(${column((m) => m.conversationId)}, ${rankOf}, ${column((m) => m.authorId)},
                                    ${column((m) => m.text)}, ${column((m) => m.clientMsgId ?? null)})`.execute(db)
    rows = result.rows
  } catch (err) {
    if (messages.length === 1 || !isUniqueViolation(err)) throw err
    return Promise.all(
      messages.map((message) =>
        appendMessages(db, [message]).then(
          ([outcome]) => outcome as PromiseSettledResult<Appended>,
          (reason: unknown): PromiseRejectedResult => ({ status: 'rejected', reason }),
        ),
      ),
    )
  }
  const bases = new Map(rows.map((row) => [row.conversation_id, row.base]))
  // now() is the transaction's start, which is also every inserted row's created_at.
  const createdAt = rows[0]?.created_at ?? new Date()
  return messages.map((message, i) => {
    const base = bases.get(message.conversationId)
    return { status: 'fulfilled', value: base === undefined ? undefined : { seq: base + (rankOf[i] as number), createdAt } }
  })
}

/** Records a delete in the log: a tombstone at its own seq that names the deleted message's seq. */
export async function insertTombstone(
  trx: Trx,
  tombstone: { conversationId: number; seq: number; authorId: number; targetSeq: number },
): Promise<void> {
  await trx
    .insertInto('messages')
    .values({
      conversation_id: tombstone.conversationId,
      seq: tombstone.seq,
      kind: 'tombstone',
      author_id: tombstone.authorId,
      text: '',
      target_seq: tombstone.targetSeq,
    })
    .execute()
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

export interface LogRequest {
  conversationId: number
  afterSeq: number
  limit: number
}

export interface Log {
  lastSeq: number
  rows: LogRow[]
}

/**
 * For each request, the log after its seq (at most `limit` rows, in order) and its conversation's
 * last seq, all in one statement, so that each log and its last seq come from the same snapshot.
 * Undefined for a conversation that does not exist. Requests that are the same are read once.
 */
export async function readLogs(db: Db, requests: readonly LogRequest[]): Promise<(Log | undefined)[]> {
  const keyOf = (r: LogRequest) => `${r.conversationId}:${r.afterSeq}:${r.limit}`
  const distinct = [...new Map(requests.map((r) => [keyOf(r), r])).values()]
  const column = (pick: (r: LogRequest) => number) => distinct.map(pick)
  const result = await sql<{ i: number; last_seq: number | null; rows: LogRow[] | null }>`
    SELECT q.i, c.last_seq,
           (SELECT json_agg(l ORDER BY l.seq) FROM (
              SELECT m.conversation_id, m.seq, m.kind, u.username, m.text, m.created_at, m.deleted_at, m.target_seq
                FROM messages m JOIN users u ON u.id = m.author_id
               WHERE m.conversation_id = c.id AND m.seq > q.after_seq
               ORDER BY m.seq
               LIMIT q.lim) l) AS rows
      FROM unnest(${column((r) => r.conversationId)}::int8[], ${column((r) => r.afterSeq)}::int8[], ${column((r) => r.limit)}::int4[])
           WITH ORDINALITY AS q(conversation_id, after_seq, lim, i)
      LEFT JOIN conversations c ON c.id = q.conversation_id`.execute(db)
  const logs = new Map<string, Log>()
  for (const row of result.rows) {
    if (row.last_seq === null) continue
    // json_agg returns timestamps as strings and bigints as numbers.
    const rows = (row.rows ?? []).map((r) => ({
      ...r,
      created_at: new Date(r.created_at),
      deleted_at: r.deleted_at === null ? null : new Date(r.deleted_at),
    }))
    logs.set(keyOf(distinct[row.i - 1] as LogRequest), { lastSeq: row.last_seq, rows })
  }
  return requests.map((r) => logs.get(keyOf(r)))
}
