import { type Kysely, sql } from 'kysely'

/**
 * append_messages: the batched write path, one call per batch of posts to any number of
 * conversations. It locks each conversation's row in id order (so concurrent batches cannot
 * deadlock), moves its last_seq by its message count (a gapless seq range held under the row lock
 * until commit), and inserts each message at base + rank. Conversations that do not exist are left
 * out of the result. Being PL/pgSQL, its plans are cached per connection.
 *
 * The foreign key from messages to conversations goes: every insert into messages runs in a
 * transaction that has just locked and updated that conversation's row, so the key can never fail,
 * and its check (a trigger per row) took about a third of this function's time. Deleting a
 * conversation must now delete its messages itself. The key to users stays.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE messages DROP CONSTRAINT messages_conversation_id_fkey`.execute(db)
  await sql`
    CREATE FUNCTION append_messages(conversation_ids int8[], ranks int4[], author_ids int8[], texts text[], client_msg_ids text[])
    RETURNS TABLE (conversation_id int8, base int8, created_at timestamptz)
    LANGUAGE plpgsql AS $$
    #variable_conflict use_column
    BEGIN
      PERFORM 1 FROM conversations c
        WHERE c.id = ANY(ARRAY(SELECT DISTINCT id FROM unnest(conversation_ids) AS id))
        ORDER BY c.id FOR UPDATE;
      RETURN QUERY
      WITH counts AS (SELECT id, count(*)::int AS n FROM unnest(conversation_ids) AS id GROUP BY id),
           allocated AS (
             UPDATE conversations c
                SET last_seq = c.last_seq + counts.n, message_count = c.message_count + counts.n
               FROM counts
              WHERE c.id = counts.id
          RETURNING c.id, c.last_seq - counts.n AS base),
           inserted AS (
             INSERT INTO messages (conversation_id, seq, kind, author_id, text, client_msg_id)
             SELECT i.conversation_id, a.base + i.rank, 'message', i.author_id, i.text, i.client_msg_id
               FROM unnest(conversation_ids, ranks, author_ids, texts, client_msg_ids)
                    AS i(conversation_id, rank, author_id, text, client_msg_id)
               JOIN allocated a ON a.id = i.conversation_id)
      SELECT a.id, a.base, now() FROM allocated a;
    END
    $$`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP FUNCTION append_messages(int8[], int4[], int8[], text[], text[])`.execute(db)
  await sql`
    ALTER TABLE messages ADD CONSTRAINT messages_conversation_id_fkey
      FOREIGN KEY (conversation_id) REFERENCES conversations(id) ON DELETE CASCADE`.execute(db)
}
