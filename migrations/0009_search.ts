import { type Kysely, sql } from 'kysely'

/**
 * Full-text search over live messages (src/storage/search.ts).
 *
 * `message_search` is a side table, one row per live message (not deleted): its place in the log,
 * `id` (the order it was indexed in, which is the order of posting: "newest first" is `id DESC`), its
 * time, and its words as an 'english' tsvector under a GIN index. A search's bitmap scans and
 * rechecks touch these rows and not the wide rows of `messages`.
 *
 * The tsvector also holds three lexemes of the message's time, which no text can produce (the parser
 * never makes a lexeme that starts with '#'): its day '#d<n>', its 7-day week '#w<n>' and its 30-day
 * month '#m<n>' (n counted from 1970). A newest-first search asks the GIN index first for the
 * matches of the latest day, then of the latest two weeks, then months, and only then of the whole
 * log: the index hands over only the candidates of that slice, so the rows read grow with how far
 * back the matches are, not with how common the words are in the whole log.
 *
 * Statement triggers with transition tables keep it in step with `messages` in the same statements
 * that write them: one INSERT per append_messages call (not one per row), and an UPDATE that edits a
 * message's text or deletes it changes or removes its row. Whatever statement writes messages, so a
 * later version of append_messages, keeps search right without knowing of it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // Writes to messages wait until this commits (reads go on), so that none falls between the copy
  // below and the triggers: about 45 s per million messages.
  await sql`LOCK TABLE messages IN SHARE ROW EXCLUSIVE MODE`.execute(db)
  await sql`
    CREATE TABLE message_search (
      conversation_id int8 NOT NULL,
      seq int8 NOT NULL,
      id int8 GENERATED ALWAYS AS IDENTITY,
      created_at timestamptz NOT NULL,
      tsv tsvector NOT NULL,
      PRIMARY KEY (conversation_id, seq)
    )`.execute(db)
  await createSearchFunctions(db)
  await sql`
    INSERT INTO message_search (conversation_id, seq, created_at, tsv)
    SELECT conversation_id, seq, created_at, message_search_vector(text, created_at) FROM messages
     WHERE kind = 'message' AND deleted_at IS NULL
     ORDER BY created_at, conversation_id, seq`.execute(db)
  await sql`CREATE INDEX message_search_tsv_idx ON message_search USING gin (tsv)`.execute(db)
  await sql`ANALYZE message_search`.execute(db)

  await sql`
    CREATE TRIGGER messages_search_insert AFTER INSERT ON messages
      REFERENCING NEW TABLE AS appended FOR EACH STATEMENT EXECUTE FUNCTION message_search_appended()`.execute(db)

  await sql`
    CREATE TRIGGER messages_search_update AFTER UPDATE ON messages
      REFERENCING OLD TABLE AS previous NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION message_search_changed()`.execute(db)
}

/** message_search_vector (a message's words and time lexemes) and the trigger functions that keep message_search in step. */
async function createSearchFunctions(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE OR REPLACE FUNCTION message_search_vector(text text, at timestamptz) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT to_tsvector('english', text) || array_to_tsvector(ARRAY[
        '#d' || floor(extract(epoch FROM at) / 86400)::int8,
        '#w' || floor(extract(epoch FROM at) / (86400 * 7))::int8,
        '#m' || floor(extract(epoch FROM at) / (86400 * 30))::int8])
    $$`.execute(db)
  await sql`
    CREATE OR REPLACE FUNCTION message_search_appended() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO message_search (conversation_id, seq, created_at, tsv)
      SELECT conversation_id, seq, created_at, message_search_vector(text, created_at) FROM appended
       WHERE kind = 'message' AND deleted_at IS NULL
       ORDER BY created_at, conversation_id, seq;
      RETURN NULL;
    END
    $$`.execute(db)
  await sql`
    CREATE OR REPLACE FUNCTION message_search_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM message_search s USING changed n
       WHERE n.kind = 'message' AND n.deleted_at IS NOT NULL
         AND s.conversation_id = n.conversation_id AND s.seq = n.seq;
      UPDATE message_search s SET tsv = message_search_vector(n.text, n.created_at)
        FROM changed n JOIN previous o ON o.conversation_id = n.conversation_id AND o.seq = n.seq
       WHERE n.kind = 'message' AND n.deleted_at IS NULL AND n.text IS DISTINCT FROM o.text
         AND s.conversation_id = n.conversation_id AND s.seq = n.seq;
      RETURN NULL;
    END
    $$`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TRIGGER messages_search_update ON messages`.execute(db)
  await sql`DROP TRIGGER messages_search_insert ON messages`.execute(db)
  await sql`DROP FUNCTION message_search_changed()`.execute(db)
  await sql`DROP FUNCTION message_search_appended()`.execute(db)
  await sql`DROP TABLE message_search`.execute(db)
  await sql`DROP FUNCTION message_search_vector(text, timestamptz)`.execute(db)
}
