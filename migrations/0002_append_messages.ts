import { type Kysely, sql } from 'kysely'

/**
 * append_messages: the batched write path in one PL/pgSQL function, whose plan Postgres caches per
 * connection instead of planning the statement again for each batch. Each conversation's row is locked in id order (no
 * deadlock between concurrent batches), moved by its message count (a gapless seq range), and the
 * messages are inserted at base + rank. Conversations that do not exist are left out of the result.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE FUNCTION append_messages(conversation_ids int8[], ranks int4[], author_ids int8[], texts text[], client_msg_ids text[])
    RETURNS TABLE (conversation_id int8, base int8, created_at timestamptz)
    LANGUAGE plpgsql AS $$
    #variable_conflict use_column
    BEGIN
      RETURN QUERY
      WITH input AS (
             SELECT * FROM unnest(conversation_ids, ranks, author_ids, texts, client_msg_ids)
                    AS t(conversation_id, rank, author_id, text, client_msg_id)),
           counts AS (SELECT i.conversation_id AS id, count(*)::int AS n FROM input i GROUP BY i.conversation_id),
           locked AS MATERIALIZED (
             SELECT c.id FROM conversations c WHERE c.id IN (SELECT id FROM counts) ORDER BY c.id FOR UPDATE),
           allocated AS (
             UPDATE conversations c
                SET last_seq = c.last_seq + counts.n, message_count = c.message_count + counts.n
               FROM locked JOIN counts ON counts.id = locked.id
              WHERE c.id = locked.id
          RETURNING c.id, c.last_seq - counts.n AS base),
           inserted AS (
             INSERT INTO messages (conversation_id, seq, kind, author_id, text, client_msg_id)
             SELECT i.conversation_id, a.base + i.rank, 'message', i.author_id, i.text, i.client_msg_id
               FROM input i JOIN allocated a ON a.id = i.conversation_id)
      SELECT a.id, a.base, now() FROM allocated a;
    END
    $$`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP FUNCTION append_messages(int8[], int4[], int8[], text[], text[])`.execute(db)
}
