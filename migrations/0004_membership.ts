import { type Kysely, sql } from 'kysely'

/**
 * Conversations people live in: kinds (open, private, direct, public read-only), members with a
 * read marker each, blocks, edits, and membership changes recorded in the conversation log.
 *
 * append_messages now decides, per message and under the conversation's row lock, whether its author
 * may post there, and numbers only the messages it accepts: so a member removed in one transaction
 * cannot post in a later one, and seqs stay gapless when some messages of a batch are refused.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('conversations')
    .addColumn('kind', 'text', (c) => c.notNull().defaultTo('open').check(sql`kind IN ('open', 'private', 'direct', 'public')`))
    // 'lowId:highId' of a direct conversation's two users, so that a pair has one at most.
    .addColumn('direct_key', 'text', (c) => c.unique())
    // The newest post's time (the creation time before any): the inbox's order.
    .addColumn('activity_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // The newest post's seq: a hidden chat comes back once this passes the seq it was hidden at.
    .addColumn('last_message_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute()
  await sql`UPDATE conversations c SET activity_at = coalesce(
              (SELECT max(m.created_at) FROM messages m WHERE m.conversation_id = c.id AND m.kind = 'message'), c.created_at),
            last_message_seq = coalesce(
              (SELECT max(m.seq) FROM messages m WHERE m.conversation_id = c.id AND m.kind = 'message'), 0)`.execute(db)

  await db.schema
    .createTable('memberships')
    .addColumn('conversation_id', 'bigint', (c) => c.notNull().references('conversations.id').onDelete('cascade'))
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull().defaultTo('member').check(sql`role IN ('owner', 'member')`))
    .addColumn('joined_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // Every seq up to this one has been read by the member; it never moves backwards.
    .addColumn('read_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    // Set by "delete chat": the conversation stays out of the inbox until a post after this seq.
    .addColumn('hidden_seq', 'bigint')
    .addPrimaryKeyConstraint('memberships_pkey', ['conversation_id', 'user_id'])
    .execute()
  await db.schema.createIndex('memberships_user_idx').on('memberships').columns(['user_id', 'conversation_id']).execute()
  await sql`INSERT INTO memberships (conversation_id, user_id, role, joined_at)
            SELECT id, created_by, 'owner', created_at FROM conversations`.execute(db)

  await db.schema
    .createTable('blocks')
    .addColumn('blocker_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('blocked_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('blocks_pkey', ['blocker_id', 'blocked_id'])
    .execute()
  await db.schema.createIndex('blocks_blocked_idx').on('blocks').column('blocked_id').execute()

  // New log rows: an edit (text is the new text, target_seq the message), and a member added or
  // removed (subject_id the member, author_id who did it).
  await sql`ALTER TABLE messages DROP CONSTRAINT messages_kind_check`.execute(db)
  await sql`ALTER TABLE messages ADD CONSTRAINT messages_kind_check
            CHECK (kind IN ('message', 'tombstone', 'edit', 'member_added', 'member_removed'))`.execute(db)
  await db.schema
    .alterTable('messages')
    .addColumn('edited_at', 'timestamptz')
    .addColumn('subject_id', 'bigint', (c) => c.references('users.id'))
    .execute()

  await sql`DROP FUNCTION append_messages(int8[], int4[], int8[], text[], text[])`.execute(db)
  await sql`
    CREATE FUNCTION append_messages(conversation_ids int8[], author_ids int8[], texts text[], client_msg_ids text[])
    RETURNS TABLE (i int4, outcome text, seq int8, created_at timestamptz)
    LANGUAGE plpgsql AS $$
    #variable_conflict use_column
    BEGIN
      PERFORM 1 FROM conversations c
        WHERE c.id = ANY(ARRAY(SELECT DISTINCT id FROM unnest(conversation_ids) AS id))
        ORDER BY c.id FOR UPDATE;
      RETURN QUERY
      WITH input AS (
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
                    last_message_seq = c.last_seq + counts.n, activity_at = now()
               FROM counts
              WHERE c.id = counts.id
          RETURNING c.id, c.last_seq - counts.n AS base),
           inserted AS (
             INSERT INTO messages (conversation_id, seq, kind, author_id, text, client_msg_id)
             SELECT r.conversation_id, a.base + r.rank, 'message', r.author_id, r.text, r.client_msg_id
               FROM ranked r JOIN allocated a ON a.id = r.conversation_id)
      SELECT j.i::int4, j.outcome, a.base + r.rank, now()
        FROM judged j
        LEFT JOIN ranked r ON r.i = j.i
        LEFT JOIN allocated a ON a.id = r.conversation_id;
    END
    $$`.execute(db)
}

/** Leaves no append_messages behind: roll 0002 back too, and forward again, to get its first version. */
export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP FUNCTION append_messages(int8[], int8[], text[], text[])`.execute(db)
  await sql`DELETE FROM messages WHERE kind IN ('edit', 'member_added', 'member_removed')`.execute(db)
  await db.schema.alterTable('messages').dropColumn('edited_at').dropColumn('subject_id').execute()
  await sql`ALTER TABLE messages DROP CONSTRAINT messages_kind_check`.execute(db)
  await sql`ALTER TABLE messages ADD CONSTRAINT messages_kind_check CHECK (kind IN ('message', 'tombstone'))`.execute(db)
  await db.schema.dropTable('blocks').execute()
  await db.schema.dropTable('memberships').execute()
  await db.schema
    .alterTable('conversations')
    .dropColumn('kind')
    .dropColumn('direct_key')
    .dropColumn('activity_at')
    .dropColumn('last_message_seq')
    .execute()
}
