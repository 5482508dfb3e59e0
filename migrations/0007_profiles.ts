import { type Kysely, sql } from 'kysely'

/**
 * Profiles: an optional first name, last name, email and phone per user. An email is unique without
 * regard to letter case, by a unique index, so that two registrations racing for one address cannot
 * both win; a deleted account's is erased with the rest of its profile, which frees it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('first_name', 'text')
    .addColumn('last_name', 'text')
    .addColumn('email', 'text')
    .addColumn('phone', 'text')
    .execute()
  await sql`CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE email IS NOT NULL`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX users_email_key`.execute(db)
  await db.schema.alterTable('users').dropColumn('first_name').dropColumn('last_name').dropColumn('email').dropColumn('phone').execute()
}
