import { type Kysely, sql } from 'kysely'

/**
 * Replies and mentions.
 *
 * - `messages.reply_to_seq`: on a post, the seq of the message of the same conversation it replies
 *   to; an index over the replies of each message, for their paged route.
 * - `mentions`: who a live post mentions, among the users it may mention (mentionable_users), so
 *   that the inbox counts the unread mentions of each member. A delete removes the post's rows; an
 *   edit replaces them.
 * - append_messages takes each post's reply target and the names it mentions, and decides both in
 *   the statement that numbers the post, under the conversation's row lock: a reply to a message that
 *   is not one of the conversation's (another conversation's seq, the future, a member change) or was
 *   deleted before the post is refused, race-free and with no extra round trip. It answers the
 *   target's author and the start of its text (the quote of the post's view), and who the post mentions.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('messages').addColumn('reply_to_seq', 'bigint').execute()
  await sql`CREATE INDEX messages_replies_idx ON messages (conversation_id, reply_to_seq, seq) WHERE reply_to_seq IS NOT NULL`.execute(db)

  // No key to conversations, as for messages (0002): each row is written under the conversation's lock.
  await db.schema
    .createTable('mentions')
    .addColumn('conversation_id', 'bigint', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('mentions_pkey', ['conversation_id', 'seq', 'user_id'])
    .execute()
  await db.schema.createIndex('mentions_user_idx').on('mentions').columns(['user_id', 'conversation_id', 'seq']).execute()

  // Who a post by `author` in `conv` mentions, of the lower-case `names`: users who may read the
  // conversation (anyone signed in where it is open or public, members elsewhere), not the author,
  // not deleted or disabled, and with no block between them and the author, whichever made it.
  await sql`
    CREATE FUNCTION mentionable_users(conv int8, author int8, names text[]) RETURNS int8[]
    LANGUAGE sql STABLE AS $$
      SELECT coalesce(array_agg(u.id ORDER BY u.id), '{}')
        FROM users u JOIN conversations c ON c.id = conv
       WHERE lower(u.username) = ANY(names) AND u.id <> author AND u.deleted_at IS NULL AND u.disabled_at IS NULL
         AND (c.kind IN ('open', 'public') OR EXISTS (SELECT 1 FROM memberships m WHERE m.conversation_id = conv AND m.user_id = u.id))
         AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = u.id AND b.blocked_id = author) OR (b.blocker_id = author AND b.blocked_id = u.id))
    $$`.execute(db)

  await sql`DROP FUNCTION append_messages(int8[], int8[], text[], text[])`.execute(db)
  await sql`
    CREATE FUNCTION append_messages(conversation_ids int8[], author_ids int8[], texts text[], client_msg_ids text[],
                                    reply_tos int8[], mention_lists text[])
    RETURNS TABLE (i int4, outcome text, seq int8, created_at timestamptz, reply_user text, reply_text text, mentioned int8[])
    LANGUAGE plpgsql AS $$
    #variable_conflict use_column
    BEGIN
      PERFORM 1 FROM conversations c
        WHERE c.id = ANY(ARRAY(SELECT DISTINCT id FROM unnest(conversation_ids) AS id))
        ORDER BY c.id FOR UPDATE;
      -- The rows are locked from here on, so a clock read below is later than the time of every row
      -- already committed in these conversations, and a delete of a reply's target that committed
      -- first is seen.
      IF EXISTS (SELECT 1 FROM unnest(reply_tos, mention_lists) AS x(reply_to, mention_list) WHERE reply_to IS NOT NULL OR mention_list <> '') THEN
        RETURN QUERY ${appendQuery('replies and mentions')};
      ELSE
        RETURN QUERY ${appendQuery('plain posts')};
      END IF;
    END
    $$`.execute(db)
}

/**
 * The statement of append_messages: for a batch with replies or mentions, or for one of plain posts
 * only, which then costs what it cost before this migration (measured: a third more for 64 plain
 * posts when the reply and mention steps ran for nothing). The two differ in nothing else.
 */
function appendQuery(batch: 'replies and mentions' | 'plain posts') {
  const full = batch === 'replies and mentions'
  const raw = (text: string) => sql.raw(full ? text : '')
  const answered = sql.raw(full ? 'j.reply_user, j.reply_text, coalesce(mg.users, \'{}\')' : "NULL::text, NULL::text, '{}'::int8[]")
  return sql`
      WITH clock AS (SELECT clock_timestamp() AS now),
           input AS (
             SELECT * FROM unnest(conversation_ids, author_ids, texts, client_msg_ids, reply_tos, mention_lists)
                    WITH ORDINALITY AS x(conversation_id, author_id, text, client_msg_id, reply_to, mention_list, i)),
           judged AS (
             SELECT input.*${raw(', o.username AS reply_user, left(o.text, 101) AS reply_text')},
                    CASE
                      WHEN c.id IS NULL THEN 'not_found'
                      WHEN c.kind <> 'open' AND m.user_id IS NULL THEN CASE WHEN c.kind = 'public' THEN 'forbidden' ELSE 'not_found' END
                      WHEN c.kind = 'direct' AND EXISTS (
                        SELECT 1 FROM memberships other JOIN blocks b
                            ON (b.blocker_id = other.user_id AND b.blocked_id = input.author_id)
                            OR (b.blocker_id = input.author_id AND b.blocked_id = other.user_id)
                         WHERE other.conversation_id = c.id AND other.user_id <> input.author_id) THEN 'blocked'
                      ${raw(`WHEN input.reply_to IS NULL THEN 'ok'
                      WHEN o.kind IS DISTINCT FROM 'message' THEN 'reply_not_found'
                      WHEN o.deleted_at IS NOT NULL THEN 'reply_deleted'`)}
                      ELSE 'ok'
                    END AS outcome
               FROM input
               LEFT JOIN conversations c ON c.id = input.conversation_id
               LEFT JOIN memberships m ON m.conversation_id = input.conversation_id AND m.user_id = input.author_id
               ${raw(`-- Looked up only for a reply.
               LEFT JOIN LATERAL (
                 SELECT t.kind, t.text, t.deleted_at, tu.username FROM messages t JOIN users tu ON tu.id = t.author_id
                  WHERE input.reply_to IS NOT NULL AND t.conversation_id = input.conversation_id AND t.seq = input.reply_to) o ON true`)}),
           ranked AS (
             SELECT judged.*, row_number() OVER (PARTITION BY judged.conversation_id ORDER BY judged.i) AS rank
               FROM judged WHERE judged.outcome = 'ok'),
           counts AS (SELECT ranked.conversation_id AS id, count(*)::int AS n FROM ranked GROUP BY ranked.conversation_id),
           allocated AS (
             UPDATE conversations c
                SET last_seq = c.last_seq + counts.n, message_count = c.message_count + counts.n,
                    last_message_seq = c.last_seq + counts.n,
                    last_event_at = greatest(clock.now, c.last_event_at), activity_at = greatest(clock.now, c.last_event_at)
               FROM counts, clock
              WHERE c.id = counts.id
          RETURNING c.id, c.last_seq - counts.n AS base, c.last_event_at AS at),
           inserted AS (
             INSERT INTO messages (conversation_id, seq, kind, author_id, text, client_msg_id, created_at, reply_to_seq)
             SELECT r.conversation_id, a.base + r.rank, 'message', r.author_id, r.text, r.client_msg_id, a.at, r.reply_to
               FROM ranked r JOIN allocated a ON a.id = r.conversation_id)${raw(`,
           mentioning AS (
             SELECT r.i, r.conversation_id, a.base + r.rank AS seq,
                    mentionable_users(r.conversation_id, r.author_id, string_to_array(r.mention_list, ' ')) AS users
               FROM ranked r JOIN allocated a ON a.id = r.conversation_id
              WHERE r.mention_list <> ''),
           recorded AS (
             INSERT INTO mentions (conversation_id, seq, user_id)
             SELECT mg.conversation_id, mg.seq, u FROM mentioning mg, unnest(mg.users) AS u)`)}
      SELECT j.i::int4, j.outcome, a.base + r.rank, a.at, ${answered}
        FROM judged j
        LEFT JOIN ranked r ON r.i = j.i
        LEFT JOIN allocated a ON a.id = r.conversation_id
        ${raw('LEFT JOIN mentioning mg ON mg.i = j.i')}`
}

/** Leaves no append_messages behind, as 0004's down does: roll 0005 back too, and forward again, to get its version. */
export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP FUNCTION append_messages(int8[], int8[], text[], text[], int8[], text[])`.execute(db)
  await sql`DROP FUNCTION mentionable_users(int8, int8, text[])`.execute(db)
  await db.schema.dropTable('mentions').execute()
  await sql`DROP INDEX messages_replies_idx`.execute(db)
  await db.schema.alterTable('messages').dropColumn('reply_to_seq').execute()
}
