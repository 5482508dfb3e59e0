import { type Kysely, sql } from 'kysely'

/**
 * Invite links: a conversation's owner makes one, and whoever holds its token joins. Only the
 * token's SHA-256 hash is stored, so that a copy of the database opens no conversation. Revoking
 * one deletes its row. `uses` counts the joins it made, up to `max_uses` when that is set.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('invites')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('conversation_id', 'bigint', (c) => c.notNull().references('conversations.id').onDelete('cascade'))
    .addColumn('token_hash', 'bytea', (c) => c.notNull().unique())
    .addColumn('created_by', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz')
    .addColumn('max_uses', 'integer', (c) => c.check(sql`max_uses > 0`))
    .addColumn('uses', 'integer', (c) => c.notNull().defaultTo(0))
    .addCheckConstraint('invites_uses_within_max', sql`max_uses IS NULL OR uses <= max_uses`)
    .execute()
  await db.schema.createIndex('invites_conversation_idx').on('invites').column('conversation_id').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('invites').execute()
}
