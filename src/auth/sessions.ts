import { ChatError } from '../errors.js'
import type { Logger } from '../logger.js'
import { Batcher } from '../storage/batcher.js'
import type { Db } from '../storage/db.js'
import {
  type FoundSession,
  type SessionRow,
  deleteSessions,
  findRefreshTokenSession,
  findSessions,
  insertRefreshToken,
  insertSession,
  listSessions,
  rotateRefreshToken,
  touchSessions,
} from '../storage/sessions.js'
import { SessionCache } from './session-cache.js'
import { hashToken, newToken, wellFormedToken as wellFormed } from './tokens.js'

/** Who a valid credential belongs to, and the session it is part of. */
export type SessionUser = FoundSession['user']


/** Lookups of one event-loop turn share a statement; a few statements may run at once. */
const LOOKUP_BATCH_MAX = 256
const LOOKUPS_IN_FLIGHT = 2
const CACHED_SESSIONS_MAX = 100_000
/**
 * A session's last use is written at most once per tenth of the idle limit (an hour at most), so
 * that neither requests nor open sockets write a row each time: the idle limit is exact to that much.
 */
const touchIntervalMs = (idleSeconds: number) => Math.min(3600, idleSeconds / 10) * 1000


type LookupKey = { hash: Buffer } | { id: number }

export interface SessionsDeps {
  db: Db
  /** Absolute lifetime of a session. */
  lifetimeSeconds: number
  /** A session unused for this long ends. */
  idleSeconds: number
  cacheMs: number
  /** Tells every node (this one included) that sessions ended: their caches forget them and their sockets close. */
  announceRevoked: (sessionIds: number[]) => Promise<void>
  log: Logger
}

export interface SessionInfo {
  id: number
  kind: SessionRow['kind']
  createdAt: string
  lastSeenAt: string
  userAgent: string | null
  current: boolean
}

/**
 * Sessions are the one kind of login. A cookie session's credential is its cookie token; a token
 * session (a refresh-token family) is reached through access tokens that name it and through its
 * current refresh token. Postgres holds only hashes of tokens.
 */
export function createSessions(deps: SessionsDeps) {
  const { db, idleSeconds, log } = deps
  const touchInterval = touchIntervalMs(idleSeconds)
  const stale = (found: FoundSession) => Date.now() - found.lastSeenAt.getTime() > touchInterval
  const cache = new SessionCache<SessionUser>({ ttlMs: deps.cacheMs, maxEntries: CACHED_SESSIONS_MAX })
  const lookups = new Batcher<LookupKey, FoundSession | undefined>(
    async (keys) => {
      const hashes = keys.flatMap((k) => ('hash' in k ? [k.hash] : []))
      const ids = keys.flatMap((k) => ('id' in k ? [k.id] : []))
      const found = await findSessions(db, { hashes, ids }, idleSeconds)
      const byHash = new Map(found.flatMap((f) => (f.tokenHash ? [[f.tokenHash.toString('base64'), f] as const] : [])))
      const byId = new Map(found.map((f) => [f.user.sessionId, f]))
      return keys.map((k) => ({ status: 'fulfilled', value: 'hash' in k ? byHash.get(k.hash.toString('base64')) : byId.get(k.id) }))
    },
    { maxBatch: LOOKUP_BATCH_MAX, maxConcurrent: LOOKUPS_IN_FLIGHT },
  )
  const touches = new Batcher<number, number>(
    async (ids) => {
      await touchSessions(db, ids)
      return ids.map((id) => ({ status: 'fulfilled', value: id }))
    },
    { maxBatch: LOOKUP_BATCH_MAX, maxConcurrent: 1 },
  )

  async function lookup(cacheKey: string, key: LookupKey): Promise<SessionUser | undefined> {
    const cached = cache.get(cacheKey)
    if (cached) return cached
    const found = await lookups.load(key)
    if (!found) return undefined
    cache.set(cacheKey, found.user, found.validUntil)
    if (stale(found))
      touches.load(found.user.sessionId).catch((err: unknown) => log.warn({ err }, 'recording a session as used failed'))
    return found.user
  }

  async function start(userId: number, kind: SessionRow['kind'], userAgent: string | undefined, tokenHash: Buffer | null) {
    return insertSession(db, {
      userId,
      kind,
      tokenHash,
      userAgent: userAgent?.slice(0, 512) ?? null,
      expiresAt: new Date(Date.now() + deps.lifetimeSeconds * 1000),
    })
  }

  /** Ends sessions everywhere. The rows are gone already; a failed announcement is caught up by each node's periodic check. */
  async function ended(sessionIds: number[]): Promise<number[]> {
    if (sessionIds.length === 0) return sessionIds
    cache.evict(sessionIds)
    try {
      await deps.announceRevoked(sessionIds)
    } catch (err) {
      log.error({ err, sessionIds }, 'announcing revoked sessions failed; nodes will notice at their next session check')
    }
    return sessionIds
  }

  return {
    /** Starts a cookie session and returns its token (256 random bits, base64url): never one the client chose. */
    async startCookie(userId: number, userAgent: string | undefined): Promise<string> {
      const token = newToken()
      await start(userId, 'cookie', userAgent, hashToken(token))
      return token
    },

    /** Starts a token session (a refresh-token family) and returns its id and first refresh token. */
    async startTokenFamily(userId: number, userAgent: string | undefined): Promise<{ sessionId: number; refreshToken: string }> {
      const refreshToken = newToken()
      const sessionId = await start(userId, 'token', userAgent, null)
      await insertRefreshToken(db, sessionId, hashToken(refreshToken))
      return { sessionId, refreshToken }
    },

    /** The user behind a cookie token, or undefined for a malformed, unknown or ended one. */
    byCookie(token: string | undefined): Promise<SessionUser | undefined> {
      if (!wellFormed(token)) return Promise.resolve(undefined)
      const hash = hashToken(token)
      return lookup(`c${hash.toString('base64')}`, { hash })
    },

    /** The user of a session named by a verified access token, or undefined once it has ended. */
    byId(sessionId: number): Promise<SessionUser | undefined> {
      return lookup(`s${sessionId}`, { id: sessionId })
    },

    /**
     * Exchanges a refresh token for the next one. Presenting one that was exchanged before revokes
     * the whole family, so that whichever of thief and owner comes second finds it dead.
     */
    async rotate(refreshToken: string): Promise<{ sessionId: number; userId: number; refreshToken: string }> {
      if (!wellFormed(refreshToken)) throw new ChatError('unauthorised', 'invalid refresh token')
      const next = newToken()
      const rotation = await rotateRefreshToken(db, hashToken(refreshToken), hashToken(next), idleSeconds)
      if (rotation.outcome === 'rotated') return { sessionId: rotation.sessionId, userId: rotation.userId, refreshToken: next }
      if (rotation.outcome === 'reused') {
        log.warn({ sessionId: rotation.sessionId, userId: rotation.userId }, 'a refresh token was reused; its family is revoked')
        await ended(await deleteSessions(db, rotation.userId, { id: rotation.sessionId }))
      }
      throw new ChatError('unauthorised', 'invalid refresh token')
    },

    /** Revokes the family of a refresh token, current or already exchanged. Unknown tokens are ignored. */
    async revokeByRefreshToken(refreshToken: string): Promise<void> {
      if (!wellFormed(refreshToken)) return
      const found = await findRefreshTokenSession(db, hashToken(refreshToken))
      if (found) await ended(await deleteSessions(db, found.userId, { id: found.sessionId }))
    },

    async list(user: SessionUser): Promise<SessionInfo[]> {
      const rows = await listSessions(db, user.userId, idleSeconds)
      return rows.map((row) => ({
        id: row.id,
        kind: row.kind,
        createdAt: row.created_at.toISOString(),
        lastSeenAt: row.last_seen_at.toISOString(),
        userAgent: row.user_agent,
        current: row.id === user.sessionId,
      }))
    },

    /** Ends one of a user's sessions; not_found when the user has no such session. */
    async revoke(userId: number, sessionId: number): Promise<void> {
      const deleted = await ended(await deleteSessions(db, userId, { id: sessionId }))
      if (deleted.length === 0) throw new ChatError('not_found', 'session not found')
    },

    /** Ends every session of a user, or every one but `exceptId`. */
    async revokeAll(userId: number, exceptId?: number): Promise<void> {
      await ended(await deleteSessions(db, userId, { exceptId }))
    },

    /** Of these sessions (of open sockets), the ones still valid; records them as in use. */
    async stillValid(sessionIds: readonly number[]): Promise<number[]> {
      const found = await findSessions(db, { hashes: [], ids: sessionIds }, idleSeconds)
      const toTouch = found.filter(stale).map((f) => f.user.sessionId)
      if (toTouch.length > 0) await touchSessions(db, toTouch)
      return found.map((f) => f.user.sessionId)
    },

    /** Another node ended sessions: forget them here. */
    evict(sessionIds: readonly number[]): void {
      cache.evict(sessionIds)
    },
  }
}

export type Sessions = ReturnType<typeof createSessions>
