import { sql } from 'kysely'
import type { Db } from './db.js'

/** Inserts a user; resolves to undefined when the name is taken in any letter case. */
export async function insertUser(db: Db, username: string, passwordHash: string | null): Promise<number | undefined> {
  const row = await db
    .insertInto('users')
    .values({ username, password_hash: passwordHash })
    .onConflict((oc) => oc.expression(sql`lower(username)`).doNothing())
    .returning('id')
    .executeTakeFirst()
  return row?.id
}
