import { sql } from 'kysely'
import type { Db } from './db.js'
import type { LogRow } from './messages.js'
import { replyTargetOf } from './replies.js'

/** Reading conversation logs back: pages after a seq (resumes, gap fills), and the heads of the logs that grew. */

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
  // A reply's event carries its quote too.
  const rowBytes = sql`(octet_length(page.text) + octet_length(coalesce(page.reply_to ->> 'text', '')) + ${EVENT_ENVELOPE_BYTES})`
  const result = await sql<{ i: number; last_seq: number | null; rows: LogRow[] | null }>`
    SELECT q.i, c.last_seq,
           (SELECT json_agg(l ORDER BY l.seq) FROM (
              SELECT p.conversation_id, p.seq, p.kind, p.username, p.text, p.created_at, p.deleted_at, p.target_seq,
                     p.edited_at, p.subject, p.subject_id, p.reply_to
                FROM (SELECT page.*,
                             sum(${rowBytes}) OVER (ORDER BY page.seq) - ${rowBytes} AS bytes_before
                        FROM (SELECT m.conversation_id, m.seq, m.kind, u.username, m.text, m.created_at, m.deleted_at,
                                     m.target_seq, m.edited_at, s.username AS subject, m.subject_id, ${replyTargetOf('m')} AS reply_to
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
