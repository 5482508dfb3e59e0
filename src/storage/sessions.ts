import { type RawBuilder, type SqlBool, sql } from 'kysely'
import type { Db } from './db.js'
import type { Role, SessionKind } from './schema.js'

export interface FoundSession {
  /** The session and its user: auth/sessions.ts calls this a SessionUser. */
  user: { sessionId: number; userId: number; username: string; role: Role }
  /** The cookie token's hash, for a cookie session. */
  tokenHash: Buffer | null
  /** When the session stops being valid if nothing uses it: its absolute expiry or its idle limit, whichever is first. */
  validUntil: Date
  lastSeenAt: Date
}

export interface SessionRow {
  id: number
  kind: SessionKind
  created_at: Date
  last_seen_at: Date
  user_agent: string | null
}

/**
 * A session is valid while it has neither reached its absolute expiry nor gone unused for longer
 * than the idle limit, and its user is not disabled. Every read of a session goes through this.
 */
function valid(idleSeconds: number): RawBuilder<SqlBool> {
  return sql<SqlBool>`(sessions.expires_at > now()
    AND sessions.last_seen_at > now() - make_interval(secs => ${idleSeconds})
    AND users.disabled_at IS NULL)`
}

export async function insertSession(
  db: Db,
  session: { userId: number; kind: SessionKind; tokenHash: Buffer | null; userAgent: string | null; expiresAt: Date },
): Promise<number> {
  const row = await db
    .insertInto('sessions')
    .values({
      user_id: session.userId,
      kind: session.kind,
      token_hash: session.tokenHash,
      user_agent: session.userAgent,
      expires_at: session.expiresAt,
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  return row.id
}

/** The valid sessions among those named by cookie-token hash or by id, in one statement. */
export async function findSessions(
  db: Db,
  keys: { hashes: readonly Buffer[]; ids: readonly number[] },
  idleSeconds: number,
): Promise<FoundSession[]> {
  const rows = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select([
      'sessions.id as sessionId',
      'sessions.token_hash',
      'sessions.last_seen_at',
      'users.id as userId',
      'users.username',
      'users.role',
      sql<Date>`least(sessions.expires_at, sessions.last_seen_at + make_interval(secs => ${idleSeconds}))`.as('valid_until'),
    ])
    .where((eb) =>
      eb.or([
        eb('sessions.token_hash', '=', sql<Buffer>`ANY(${keys.hashes})`),
        eb('sessions.id', '=', sql<number>`ANY(${keys.ids})`),
      ]),
    )
    .where(valid(idleSeconds))
    .execute()
  return rows.map(({ token_hash, valid_until, last_seen_at, ...user }) => ({
    user,
    tokenHash: token_hash,
    validUntil: valid_until,
    lastSeenAt: last_seen_at,
  }))
}

/** Records sessions as used now. */
export async function touchSessions(db: Db, ids: readonly number[]): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ last_seen_at: sql<Date>`now()` })
    .where('id', '=', sql<number>`ANY(${ids})`)
    .execute()
}

/** A user's valid sessions, most recently used first. */
export async function listSessions(db: Db, userId: number, idleSeconds: number): Promise<SessionRow[]> {
  return db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['sessions.id', 'sessions.kind', 'sessions.created_at', 'sessions.last_seen_at', 'sessions.user_agent'])
    .where('sessions.user_id', '=', userId)
    .where(valid(idleSeconds))
    .orderBy('sessions.last_seen_at', 'desc')
    .orderBy('sessions.id', 'desc')
    .execute()
}

/**
 * Deletes sessions of a user (their refresh tokens go with them): one by id, or all of them but
 * `exceptId`. Answers the ids deleted.
 */
export async function deleteSessions(db: Db, userId: number, which: { id: number } | { exceptId?: number }): Promise<number[]> {
  let query = db.deleteFrom('sessions').where('user_id', '=', userId)
  if ('id' in which) query = query.where('id', '=', which.id)
  else if (which.exceptId !== undefined) query = query.where('id', '<>', which.exceptId)
  const rows = await query.returning('id').execute()
  return rows.map((r) => r.id)
}

export type Rotation = { outcome: 'rotated' | 'reused'; sessionId: number; userId: number } | { outcome: 'unknown' }

/**
 * Exchanges a refresh token for the next one of its family (its session), in one transaction. A
 * token that was exchanged before is a sign of theft: the caller revokes the family. The session
 * must still be valid for the exchange to happen.
 */
export async function rotateRefreshToken(db: Db, presented: Buffer, next: Buffer, idleSeconds: number): Promise<Rotation> {
  return db.transaction().execute(async (trx) => {
    const token = await trx
      .selectFrom('refresh_tokens')
      .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select(['refresh_tokens.session_id', 'refresh_tokens.used_at', 'sessions.user_id', valid(idleSeconds).as('valid')])
      .where('refresh_tokens.token_hash', '=', presented)
      .forUpdate('refresh_tokens')
      .executeTakeFirst()
    if (!token) return { outcome: 'unknown' }
    if (token.used_at !== null) return { outcome: 'reused', sessionId: token.session_id, userId: token.user_id }
    if (!token.valid) return { outcome: 'unknown' }
    await trx.updateTable('refresh_tokens').set({ used_at: sql<Date>`now()` }).where('token_hash', '=', presented).execute()
    await trx.insertInto('refresh_tokens').values({ token_hash: next, session_id: token.session_id }).execute()
    await trx.updateTable('sessions').set({ last_seen_at: sql<Date>`now()` }).where('id', '=', token.session_id).execute()
    return { outcome: 'rotated', sessionId: token.session_id, userId: token.user_id }
  })
}

export async function insertRefreshToken(db: Db, sessionId: number, tokenHash: Buffer): Promise<void> {
  await db.insertInto('refresh_tokens').values({ token_hash: tokenHash, session_id: sessionId }).execute()
}

/** The session and user a refresh token belongs to, whether or not it was exchanged already. */
export async function findRefreshTokenSession(db: Db, tokenHash: Buffer): Promise<{ sessionId: number; userId: number } | undefined> {
  return db
    .selectFrom('refresh_tokens')
    .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
    .select(['sessions.id as sessionId', 'sessions.user_id as userId'])
    .where('refresh_tokens.token_hash', '=', tokenHash)
    .executeTakeFirst()
}
