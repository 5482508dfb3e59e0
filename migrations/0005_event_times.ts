import { type Kysely, sql } from 'kysely'

/**
 * Event times that follow seq order, and a cheap way to find what changed recently.
 *
 * - `conversations.last_event_at`: the time of the conversation's newest log row. Each row's time is
 *   now taken under the conversation's row lock, as greatest(clock_timestamp(), last_event_at), so
 *   times never go down in seq order. They used to be now(), the transaction's start: a transaction
 *   that started first but took the lock second got a later seq and an earlier time.
 * - A BRIN index on messages.created_at: rows are appended in time order, so a range of a few
 *   pages per index entry finds the rows of the last seconds for almost nothing per insert. Each node
 *   reads them every second to learn of events whose stream entry was lost (src/chat/heads.ts).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('conversations')
    .addColumn('last_event_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await sql`UPDATE conversations c SET last_event_at = greatest(c.created_at,
              coalesce((SELECT max(m.created_at) FROM messages m WHERE m.conversation_id = c.id), c.created_at))`.execute(db)
  await sql`CREATE INDEX messages_created_at_brin ON messages USING brin (created_at) WITH (autosummarize = on)`.execute(db)

  await appendMessages('under the lock').execute(db)
}

/** Puts back 0004's append_messages (times from now()) and drops the column and the index. */
export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX messages_created_at_brin`.execute(db)
  await db.schema.alterTable('conversations').dropColumn('last_event_at').execute()
  await appendMessages('at transaction start').execute(db)
}

/**
 * append_messages stamping its rows with a time read under the conversations' locks (this
 * migration), or with now(), the transaction's start (as 0004 made it). The two differ in nothing else.
 */
function appendMessages(times: 'under the lock' | 'at transaction start') {
  const underLock = times === 'under the lock'
  const clock = sql.raw(underLock ? 'clock AS (SELECT clock_timestamp() AS now),' : '')
  const stamp = sql.raw(
    underLock
      ? 'last_event_at = greatest(clock.now, c.last_event_at), activity_at = greatest(clock.now, c.last_event_at)'
      : 'activity_at = now()',
  )
  const from = sql.raw(underLock ? 'FROM counts, clock' : 'FROM counts')
  const at = sql.raw(underLock ? ', c.last_event_at AS at' : '')
  const createdAt = sql.raw(underLock ? ', created_at' : '')
  const rowTime = sql.raw(underLock ? ', a.at' : '')
  const answerTime = sql.raw(underLock ? 'a.at' : 'now()')
  return sql`
    CREATE OR REPLACE FUNCTION append_messages(conversation_ids int8[], author_ids int8[], texts text[], client_msg_ids text[])
    RETURNS TABLE (i int4, outcome text, seq int8, created_at timestamptz)
    LANGUAGE plpgsql AS $$
    #variable_conflict use_column
    BEGIN
      PERFORM 1 FROM conversations c
        WHERE c.id = ANY(ARRAY(SELECT DISTINCT id FROM unnest(conversation_ids) AS id))
        ORDER BY c.id FOR UPDATE;
      -- The rows are locked from here on, so a clock read below is later than the time of every row
      -- already committed in these conversations.
      RETURN QUERY
      WITH ${clock}
           input AS (
             SELECT * FROM unnest(conversation_ids, author_ids, texts, client_msg_ids)
                    WITH ORDINALITY AS x(conversation_id, author_id, text, client_msg_id, i)),
           judged AS (
             SELECT input.*,
                    CASE
                      WHEN c.id IS NULL THEN 'not_found'
                      WHEN c.kind = 'open' THEN 'ok'
                      WHEN m.user_id IS NULL THEN CASE WHEN c.kind = 'public' THEN 'forbidden' ELSE 'not_found' END
                      WHEN c.kind = 'direct' AND EXISTS (
                        SELECT 1 FROM memberships other JOIN blocks b
                            ON (b.blocker_id = other.user_id AND b.blocked_id = input.author_id)
                            OR (b.blocker_id = input.author_id AND b.blocked_id = other.user_id)
                         WHERE other.conversation_id = c.id AND other.user_id <> input.author_id) THEN 'blocked'
                      ELSE 'ok'
                    END AS outcome
               FROM input
               LEFT JOIN conversations c ON c.id = input.conversation_id
               LEFT JOIN memberships m ON m.conversation_id = input.conversation_id AND m.user_id = input.author_id),
           ranked AS (
             SELECT judged.*, row_number() OVER (PARTITION BY judged.conversation_id ORDER BY judged.i) AS rank
               FROM judged WHERE judged.outcome = 'ok'),
           counts AS (SELECT ranked.conversation_id AS id, count(*)::int AS n FROM ranked GROUP BY ranked.conversation_id),
           allocated AS (
             UPDATE conversations c
                SET last_seq = c.last_seq + counts.n, message_count = c.message_count + counts.n,
                    last_message_seq = c.last_seq + counts.n, ${stamp}
               ${from}
              WHERE c.id = counts.id
          RETURNING c.id, c.last_seq - counts.n AS base${at}),
           inserted AS (
             INSERT INTO messages (conversation_id, seq, kind, author_id, text, client_msg_id${createdAt})
             SELECT r.conversation_id, a.base + r.rank, 'message', r.author_id, r.text, r.client_msg_id${rowTime}
               FROM ranked r JOIN allocated a ON a.id = r.conversation_id)
      SELECT j.i::int4, j.outcome, a.base + r.rank, ${answerTime}
        FROM judged j
        LEFT JOIN ranked r ON r.i = j.i
        LEFT JOIN allocated a ON a.id = r.conversation_id;
    END
    $$`
}
