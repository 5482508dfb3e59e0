import { type Kysely, sql } from 'kysely'
import { createSearchFunctions } from './0009_search.js'

/**
 * 0009_search's first version (merged, never released) had no time slices: no created_at column, no
 * time lexemes, and a btree on id. A database migrated with it is brought up to the current 0009
 * here; on any other this does nothing.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = 'message_search' AND column_name = 'created_at'`.execute(db)
  if (rows[0]?.n === 1) return
  await sql`ALTER TABLE message_search ADD COLUMN created_at timestamptz`.execute(db)
  await createSearchFunctions(db)
  await sql`
    UPDATE message_search s SET created_at = m.created_at, tsv = message_search_vector(m.text, m.created_at)
      FROM messages m WHERE m.conversation_id = s.conversation_id AND m.seq = s.seq`.execute(db)
  await sql`ALTER TABLE message_search ALTER COLUMN created_at SET NOT NULL`.execute(db)
  await sql`DROP INDEX IF EXISTS message_search_id_key`.execute(db)
}

/** 0009_search's down undoes both. */
export async function down(): Promise<void> {}
