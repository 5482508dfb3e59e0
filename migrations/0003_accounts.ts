import { type Kysely, sql } from 'kysely'

/**
 * Accounts beyond username-only registration: roles, disabling, display names and identities from
 * a trusted external issuer. Sessions gain a kind (a browser's cookie, or a family of refresh
 * tokens) and refresh tokens get a table of their own, so that a reused one can be recognised.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('role', 'text', (c) => c.notNull().defaultTo('user').check(sql`role IN ('user', 'admin')`))
    .addColumn('display_name', 'text')
    .addColumn('disabled_at', 'timestamptz')
    .addColumn('deleted_at', 'timestamptz')
    .addColumn('external_issuer', 'text')
    .addColumn('external_subject', 'text')
    .execute()
  await sql`CREATE UNIQUE INDEX users_external_identity_key ON users (external_issuer, external_subject)
            WHERE external_issuer IS NOT NULL`.execute(db)

  // A token session has no cookie token: its credentials are its refresh tokens.
  await sql`ALTER TABLE sessions ALTER COLUMN token_hash DROP NOT NULL`.execute(db)
  await db.schema
    .alterTable('sessions')
    .addColumn('kind', 'text', (c) => c.notNull().defaultTo('cookie').check(sql`kind IN ('cookie', 'token')`))
    .execute()

  await db.schema
    .createTable('refresh_tokens')
    .addColumn('token_hash', 'bytea', (c) => c.primaryKey())
    .addColumn('session_id', 'bigint', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // Set when the token is exchanged for the next one; presenting it again revokes its session.
    .addColumn('used_at', 'timestamptz')
    .execute()
  await db.schema.createIndex('refresh_tokens_session_id_idx').on('refresh_tokens').column('session_id').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('refresh_tokens').execute()
  await db.schema.alterTable('sessions').dropColumn('kind').execute()
  await sql`DELETE FROM sessions WHERE token_hash IS NULL`.execute(db)
  await sql`ALTER TABLE sessions ALTER COLUMN token_hash SET NOT NULL`.execute(db)
  await sql`DROP INDEX users_external_identity_key`.execute(db)
  await db.schema
    .alterTable('users')
    .dropColumn('role')
    .dropColumn('display_name')
    .dropColumn('disabled_at')
    .dropColumn('deleted_at')
    .dropColumn('external_issuer')
    .dropColumn('external_subject')
    .execute()
}
