import type { Kysely } from 'kysely'

/**
 * The signing keys of a deployment that sets no JWT_KEYS, shared by its nodes through Postgres (see
 * src/auth/key-ring.ts). A key signs from `signs_from` on; every key in the table verifies. A key
 * added by a rotation starts signing only once every node has had time to load it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('signing_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('private_jwk', 'jsonb', (c) => c.notNull())
    .addColumn('signs_from', 'timestamptz', (c) => c.notNull())
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('signing_keys').execute()
}
