import { sql } from 'kysely'
import type { Db } from './db.js'

export interface SessionUser {
  sessionId: number
  userId: number
  username: string
}

export async function insertSession(
  db: Db,
  session: { userId: number; tokenHash: Buffer; userAgent: string | null; expiresAt: Date },
): Promise<number> {
  const row = await db
    .insertInto('sessions')
    .values({
      user_id: session.userId,
      token_hash: session.tokenHash,
      user_agent: session.userAgent,
      expires_at: session.expiresAt,
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  return row.id
}

export interface FoundSession {
  user: SessionUser
  expiresAt: Date
}

/** The sessions of several token hashes, keyed by the hash in base64; unknown and expired ones are missing. */
export async function findSessions(db: Db, tokenHashes: readonly Buffer[]): Promise<Map<string, FoundSession>> {
  const rows = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['sessions.token_hash', 'sessions.expires_at', 'sessions.id as sessionId', 'users.id as userId', 'users.username'])
    .where('sessions.token_hash', '=', sql<Buffer>`ANY(${tokenHashes})`)
    .where('sessions.expires_at', '>', sql<Date>`now()`)
    .execute()
  return new Map(rows.map(({ token_hash, expires_at, ...user }) => [token_hash.toString('base64'), { user, expiresAt: expires_at }]))
}
