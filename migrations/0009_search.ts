import { type Kysely, sql } from 'kysely'

/**
 * Full-text search over live messages (src/storage/search.ts).
 *
 * `message_search` is a narrow side table, one row per live message (not deleted): its place in the
 * log, `id` (the order it was indexed in, which is the order of posting: "newest first" is `id DESC`)
 * and its words as an 'english' tsvector under a GIN index. A search's bitmap scans and rechecks
 * touch these small rows and not the wide rows of `messages`; the primary key (conversation_id, seq)
 * serves the restriction to the user's conversations, ANDed with the GIN bitmap.
 *
 * Statement triggers with transition tables keep it in step with `messages` in the same statements
 * that write them: one INSERT per append_messages call (not one per row), and an UPDATE that edits a
 * message's text or deletes it changes or removes its row. Whatever statement writes messages, so a
 * later version of append_messages, keeps search right without knowing of it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE message_search (
      conversation_id int8 NOT NULL,
      seq int8 NOT NULL,
      id int8 GENERATED ALWAYS AS IDENTITY,
      tsv tsvector NOT NULL,
      PRIMARY KEY (conversation_id, seq)
    )`.execute(db)
  await sql`
    INSERT INTO message_search (conversation_id, seq, tsv)
    SELECT conversation_id, seq, to_tsvector('english', text) FROM messages
     WHERE kind = 'message' AND deleted_at IS NULL
     ORDER BY created_at, conversation_id, seq`.execute(db)
  await sql`CREATE UNIQUE INDEX message_search_id_key ON message_search (id)`.execute(db)
  await sql`CREATE INDEX message_search_tsv_idx ON message_search USING gin (tsv)`.execute(db)
  await sql`ANALYZE message_search`.execute(db)

  await sql`
    CREATE FUNCTION message_search_appended() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO message_search (conversation_id, seq, tsv)
      SELECT conversation_id, seq, to_tsvector('english', text) FROM appended
       WHERE kind = 'message' AND deleted_at IS NULL
       ORDER BY created_at, conversation_id, seq;
      RETURN NULL;
    END
    $$`.execute(db)
  await sql`
    CREATE TRIGGER messages_search_insert AFTER INSERT ON messages
      REFERENCING NEW TABLE AS appended FOR EACH STATEMENT EXECUTE FUNCTION message_search_appended()`.execute(db)

  await sql`
    CREATE FUNCTION message_search_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM message_search s USING changed n
       WHERE n.kind = 'message' AND n.deleted_at IS NOT NULL
         AND s.conversation_id = n.conversation_id AND s.seq = n.seq;
      UPDATE message_search s SET tsv = to_tsvector('english', n.text)
        FROM changed n JOIN previous o ON o.conversation_id = n.conversation_id AND o.seq = n.seq
       WHERE n.kind = 'message' AND n.deleted_at IS NULL AND n.text IS DISTINCT FROM o.text
         AND s.conversation_id = n.conversation_id AND s.seq = n.seq;
      RETURN NULL;
    END
    $$`.execute(db)
  await sql`
    CREATE TRIGGER messages_search_update AFTER UPDATE ON messages
      REFERENCING OLD TABLE AS previous NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION message_search_changed()`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TRIGGER messages_search_update ON messages`.execute(db)
  await sql`DROP TRIGGER messages_search_insert ON messages`.execute(db)
  await sql`DROP FUNCTION message_search_changed()`.execute(db)
  await sql`DROP FUNCTION message_search_appended()`.execute(db)
  await sql`DROP TABLE message_search`.execute(db)
}
