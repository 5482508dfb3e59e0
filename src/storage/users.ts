import { sql } from 'kysely'
import { type Db, isUniqueViolation } from './db.js'
import type { Role } from './schema.js'

export interface UserRow {
  id: number
  username: string
  display_name: string | null
  role: Role
  password_hash: string | null
  disabled_at: Date | null
  external_issuer: string | null
  created_at: Date
  first_name: string | null
  last_name: string | null
  email: string | null
  phone: string | null
}

/** The optional parts of a profile, as columns: each set, or cleared with null. */
export interface ProfileColumns {
  first_name?: string | null
  last_name?: string | null
  email?: string | null
  phone?: string | null
}

export interface NewUser {
  username: string
  passwordHash: string | null
  role?: Role
  displayName?: string | null
  profile?: ProfileColumns
  external?: { issuer: string; subject: string }
}

export interface UserChanges extends ProfileColumns {
  username?: string
  password_hash?: string | null
  display_name?: string | null
  role?: Role
  disabled_at?: Date | null
}

const USER_COLUMNS = [
  'id',
  'username',
  'display_name',
  'role',
  'password_hash',
  'disabled_at',
  'external_issuer',
  'created_at',
  'first_name',
  'last_name',
  'email',
  'phone',
] as const

/** Postgres refused a user's row because another account has its email (migrations/0007), in any letter case. */
export const isEmailTaken = (err: unknown) => isUniqueViolation(err) && (err as { constraint?: string }).constraint === 'users_email_key'

/** Inserts a user; resolves to undefined when the name is taken in any letter case. An email taken already throws (isEmailTaken). */
export async function insertUser(db: Db, user: NewUser): Promise<number | undefined> {
  const row = await db
    .insertInto('users')
    .values({
      username: user.username,
      password_hash: user.passwordHash,
      role: user.role,
      display_name: user.displayName ?? null,
      ...user.profile,
      external_issuer: user.external?.issuer ?? null,
      external_subject: user.external?.subject ?? null,
    })
    .onConflict((oc) => oc.expression(sql`lower(username)`).doNothing())
    .returning('id')
    .executeTakeFirst()
  return row?.id
}

/** A user that has not been deleted: by id, by name in any letter case, or by external identity. */
export async function findUser(
  db: Db,
  by: { id: number } | { username: string } | { issuer: string; subject: string },
): Promise<UserRow | undefined> {
  let query = db.selectFrom('users').select(USER_COLUMNS).where('deleted_at', 'is', null)
  if ('id' in by) query = query.where('id', '=', by.id)
  else if ('username' in by) query = query.where(sql`lower(username)`, '=', by.username.toLowerCase())
  else query = query.where('external_issuer', '=', by.issuer).where('external_subject', '=', by.subject)
  return query.executeTakeFirst()
}

/** The users of these names (any letter case) that have not been deleted, in no particular order. */
export async function findUsersNamed(db: Db, usernames: readonly string[]): Promise<UserRow[]> {
  if (usernames.length === 0) return []
  return db
    .selectFrom('users')
    .select(USER_COLUMNS)
    .where('deleted_at', 'is', null)
    .where(sql`lower(username)`, 'in', usernames.map((name) => name.toLowerCase()))
    .execute()
}

/** Changes a user that has not been deleted; undefined when there is none. A name or email taken already throws 23505. */
export async function updateUser(db: Db, id: number, changes: UserChanges): Promise<UserRow | undefined> {
  if (Object.keys(changes).length === 0) return findUser(db, { id })
  return db
    .updateTable('users')
    .set(changes)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .returning(USER_COLUMNS)
    .executeTakeFirst()
}

/** Users in id order after `afterId`, deleted ones left out. */
export async function listUsers(db: Db, afterId: number, limit: number): Promise<UserRow[]> {
  return db
    .selectFrom('users')
    .select(USER_COLUMNS)
    .where('deleted_at', 'is', null)
    .where('id', '>', afterId)
    .orderBy('id')
    .limit(limit)
    .execute()
}

/**
 * Deletes an account but keeps its row as the author of its messages: the name becomes
 * "[deleted-<id>]" (which no one can register), and password, display name, profile and external
 * identity are cleared, which frees the email. False when there was no such user.
 */
export async function anonymiseUser(db: Db, id: number): Promise<boolean> {
  const row = await db
    .updateTable('users')
    .set({
      username: `[deleted-${id}]`,
      password_hash: null,
      display_name: null,
      first_name: null,
      last_name: null,
      email: null,
      phone: null,
      role: 'user',
      external_issuer: null,
      external_subject: null,
      disabled_at: sql<Date>`now()`,
      deleted_at: sql<Date>`now()`,
    })
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .returning('id')
    .executeTakeFirst()
  return row !== undefined
}
