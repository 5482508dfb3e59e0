import { sql } from 'kysely'
import { type Db, type Trx, isUniqueViolation } from './db.js'
import type { LogKind } from './schema.js'

/** One row of the conversation log with its author's name. */
export interface LogRow {
  conversation_id: number
  seq: number
  kind: LogKind
  username: string
  text: string
  created_at: Date
  deleted_at: Date | null
  target_seq: number | null
  edited_at: Date | null
  /** On a member row: the member added or removed, by name and by id. */
  subject: string | null
  subject_id: number | null
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
  'messages.edited_at',
  'subjects.username as subject',
  'messages.subject_id',
] as const

/** messages with its author's and its subject's names, ready for logColumns. */
const logRows = (db: Db | Trx) =>
  db
    .selectFrom('messages')
    .innerJoin('users', 'users.id', 'messages.author_id')
    .leftJoin('users as subjects', 'subjects.id', 'messages.subject_id')

/** A place in a conversation's log: its seq, and its time, which never goes down as seq goes up. */
export interface LogPosition {
  seq: number
  at: Date
}

/**
 * Takes the conversation's next seq for a log row that is not a post (a delete, an edit, a member
 * change), holding the row lock until the transaction ends: that lock makes seq gapless and commit
 * order equal seq order. The row's time is read under the lock too, so it is not earlier than any
 * row before it. countChange is -1 for a delete (one message fewer). Resolves to undefined when the
 * conversation does not exist. Posts take their seqs in append_messages.
 */
export async function takeLogSeq(trx: Trx, conversationId: number, countChange: 0 | -1 = 0): Promise<LogPosition | undefined> {
  const row = await trx
    .updateTable('conversations')
    .set({
      last_seq: sql`last_seq + 1`,
      message_count: sql`message_count + ${countChange}`,
      last_event_at: sql`greatest(clock_timestamp(), last_event_at)`,
    })
    .where('id', '=', conversationId)
    .returning(['last_seq', 'last_event_at'])
    .executeTakeFirst()
  return row && { seq: row.last_seq, at: row.last_event_at }
}

export interface MessageToAppend {
  conversationId: number
  authorId: number
  text: string
  clientMsgId: string | undefined
}

/**
 * What append_messages made of a message: its seq, or why it was refused: the conversation does not
 * exist or is hidden from the author (not_found), the author may read but not post (forbidden), or
 * a block stands between the two users of a direct conversation (blocked). This is chat/access.ts'
 * rule of who may post, applied again in SQL; access.ts says why it must be.
 */
export type Appended = { outcome: 'ok'; seq: number; createdAt: Date } | { outcome: 'not_found' | 'forbidden' | 'blocked' }

/**
 * Appends messages to any number of conversations with one call of append_messages
 * (migrations/0004): one round trip and one commit. Each accepted message gets the next seq of its
 * conversation, in the order given. A client id used before fails the whole statement; the batch is
 * then written one message at a time, so that only the retried message fails (with 23505).
 */
export async function appendMessages(db: Db, messages: readonly MessageToAppend[]): Promise<PromiseSettledResult<Appended>[]> {
  const column = <T>(pick: (m: MessageToAppend) => T) => messages.map(pick)
  let rows: { i: number; outcome: Appended['outcome']; seq: number | null; created_at: Date }[]
  try {
    const result = await sql<{ i: number; outcome: Appended['outcome']; seq: number | null; created_at: Date }>`
      SELECT * FROM append_messages(${column((m) => m.conversationId)}, ${column((m) => m.authorId)},
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
  const byIndex = new Map(rows.map((row) => [row.i, row]))
  return messages.map((_, index) => {
    const row = byIndex.get(index + 1)
    if (!row) return { status: 'rejected', reason: new Error('append_messages left a message out') }
    // created_at is the time append_messages read under the conversation's lock, the row's own.
    const value: Appended = row.outcome === 'ok' ? { outcome: 'ok', seq: row.seq as number, createdAt: row.created_at } : { outcome: row.outcome }
    return { status: 'fulfilled', value }
  })
}

export interface LogEntry extends LogPosition {
  conversationId: number
  kind: Exclude<LogKind, 'message'>
  authorId: number
  /** An edit's new text. */
  text?: string
  /** The message a delete or an edit is about. */
  targetSeq?: number
  /** The member a member row is about. */
  subjectId?: number
}

/** Records a delete, an edit or a member change in the log, at the position takeLogSeq gave it. */
export async function insertLogEntry(trx: Trx, entry: LogEntry): Promise<void> {
  await trx
    .insertInto('messages')
    .values({
      conversation_id: entry.conversationId,
      seq: entry.seq,
      created_at: entry.at,
      kind: entry.kind,
      author_id: entry.authorId,
      text: entry.text ?? '',
      target_seq: entry.targetSeq ?? null,
      subject_id: entry.subjectId ?? null,
    })
    .execute()
}

export async function findByClientMsgId(
  db: Db,
  conversationId: number,
  authorId: number,
  clientMsgId: string,
): Promise<LogRow | undefined> {
  return logRows(db)
    .select(logColumns)
    .where('messages.conversation_id', '=', conversationId)
    .where('messages.author_id', '=', authorId)
    .where('messages.client_msg_id', '=', clientMsgId)
    .executeTakeFirst()
}

/** Which live messages to list: the newest, those before a seq, or those after one; at most `limit`. */
export type MessagePage = { limit: number; before?: number; after?: number }

/** Live messages (not deleted), oldest first: the newest `limit`, or the `limit` before or after a seq. */
export async function listMessages(db: Db, conversationId: number, page: MessagePage): Promise<LogRow[]> {
  let query = logRows(db)
    .select(logColumns)
    .where('messages.conversation_id', '=', conversationId)
    .where('messages.kind', '=', 'message')
    .where('messages.deleted_at', 'is', null)
  if (page.before !== undefined) query = query.where('messages.seq', '<', page.before)
  if (page.after !== undefined) {
    return query.where('messages.seq', '>', page.after).orderBy('messages.seq', 'asc').limit(page.limit).execute()
  }
  const newestFirst = await query.orderBy('messages.seq', 'desc').limit(page.limit).execute()
  return newestFirst.reverse()
}

/** A message that is not deleted. */
export async function findMessage(db: Db | Trx, conversationId: number, seq: number): Promise<LogRow & { author_id: number } | undefined> {
  return logRows(db)
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

/** Replaces a live message's text and stamps it edited at `at`, the time of the edit's log row. */
export async function applyEdit(trx: Trx, conversationId: number, seq: number, text: string, at: Date): Promise<void> {
  await trx
    .updateTable('messages')
    .set({ text, edited_at: at })
    .where('conversation_id', '=', conversationId)
    .where('seq', '=', seq)
    .where('kind', '=', 'message')
    .where('deleted_at', 'is', null)
    .executeTakeFirstOrThrow()
}

export interface LogRequest {
  conversationId: number
  afterSeq: number
  /** Most rows to read. */
  limit: number
  /** Most bytes to read, roughly: rows are read while the size of those before them stays under this. */
  maxBytes: number
}

export interface Log {
  lastSeq: number
  rows: LogRow[]
}

/**
 * What a row of the log adds to its event's JSON besides its text: the envelope, the author's name,
 * a timestamp and a url. An estimate, used to bound reads by bytes before anything is encoded.
 */
const EVENT_ENVELOPE_BYTES = 200

/**
 * For each request, the log after its seq and its conversation's last seq, all in one statement, so
 * that each log and its last seq come from the same snapshot. A log holds at most `limit` rows, in
 * order, and stops once the rows before the next one come to `maxBytes` (so it has one row at least,
 * whatever its size). Undefined for a conversation that does not exist. Requests that are the same
 * are read once.
 */
export async function readLogs(db: Db, requests: readonly LogRequest[]): Promise<(Log | undefined)[]> {
  const keyOf = (r: LogRequest) => `${r.conversationId}:${r.afterSeq}:${r.limit}:${r.maxBytes}`
  const distinct = [...new Map(requests.map((r) => [keyOf(r), r])).values()]
  const column = (pick: (r: LogRequest) => number) => distinct.map(pick)
  const result = await sql<{ i: number; last_seq: number | null; rows: LogRow[] | null }>`
    SELECT q.i, c.last_seq,
           (SELECT json_agg(l ORDER BY l.seq) FROM (
              SELECT p.conversation_id, p.seq, p.kind, p.username, p.text, p.created_at, p.deleted_at, p.target_seq,
                     p.edited_at, p.subject, p.subject_id
                FROM (SELECT page.*,
                             sum(octet_length(page.text) + ${EVENT_ENVELOPE_BYTES}) OVER (ORDER BY page.seq)
                               - (octet_length(page.text) + ${EVENT_ENVELOPE_BYTES}) AS bytes_before
                        FROM (SELECT m.conversation_id, m.seq, m.kind, u.username, m.text, m.created_at, m.deleted_at,
                                     m.target_seq, m.edited_at, s.username AS subject, m.subject_id
                                FROM messages m JOIN users u ON u.id = m.author_id LEFT JOIN users s ON s.id = m.subject_id
                               WHERE m.conversation_id = c.id AND m.seq > q.after_seq
                               ORDER BY m.seq
                               LIMIT q.lim) page) p
               WHERE p.bytes_before < q.max_bytes) l) AS rows
      FROM unnest(${column((r) => r.conversationId)}::int8[], ${column((r) => r.afterSeq)}::int8[], ${column((r) => r.limit)}::int4[],
                  ${column((r) => r.maxBytes)}::int8[])
           WITH ORDINALITY AS q(conversation_id, after_seq, lim, max_bytes, i)
      LEFT JOIN conversations c ON c.id = q.conversation_id`.execute(db)
  const logs = new Map<string, Log>()
  for (const row of result.rows) {
    if (row.last_seq === null) continue
    // json_agg returns timestamps as strings and bigints as numbers.
    const rows = (row.rows ?? []).map((r) => ({
      ...r,
      created_at: new Date(r.created_at),
      deleted_at: r.deleted_at === null ? null : new Date(r.deleted_at),
      edited_at: r.edited_at === null ? null : new Date(r.edited_at),
    }))
    logs.set(keyOf(distinct[row.i - 1] as LogRequest), { lastSeq: row.last_seq, rows })
  }
  return requests.map((r) => logs.get(keyOf(r)))
}

/** A conversation's last seq, as Postgres has it. */
export interface LogHead {
  conversationId: number
  lastSeq: number
}

/**
 * A time that every log row not yet committed will be stamped with or after: the start of the
 * oldest open transaction of ours in this database (a row's time is read inside its transaction, and
 * never goes back), or now when there is none. `clockMarginMs` more is taken off, in case the server's
 * clock steps back; transactions older than `maxLookbackMs` are not waited for (ours cannot be: the
 * statement and idle timeouts end them long before).
 */
export async function uncommittedFloor(db: Db, maxLookbackMs: number, clockMarginMs: number): Promise<Date> {
  const { rows } = await sql<{ floor: Date }>`
    SELECT greatest(least(clock_timestamp(), min(a.xact_start)), clock_timestamp() - make_interval(secs => ${maxLookbackMs / 1000}))
             - make_interval(secs => ${clockMarginMs / 1000}) AS floor
      FROM pg_stat_activity a
     WHERE a.datname = current_database() AND a.usename = current_user AND a.backend_type = 'client backend'
       AND a.pid <> pg_backend_pid() AND a.xact_start IS NOT NULL`.execute(db)
  return (rows[0] as { floor: Date }).floor
}

/** The last seq of every conversation with a log row stamped at `since` or later (found through the BRIN index on created_at). */
export async function logHeadsSince(db: Db, since: Date): Promise<LogHead[]> {
  const rows = await db
    .selectFrom('messages')
    .select(['conversation_id', sql<number>`max(seq)`.as('last_seq')])
    .where('created_at', '>=', since)
    .groupBy('conversation_id')
    .execute()
  return rows.map((row) => ({ conversationId: row.conversation_id, lastSeq: row.last_seq }))
}
