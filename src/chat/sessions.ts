import { createHash, randomBytes } from 'node:crypto'
import { Batcher } from '../storage/batcher.js'
import type { Db } from '../storage/db.js'
import { type FoundSession, type SessionUser, findSessions, insertSession } from '../storage/sessions.js'
import { SessionCache } from './session-cache.js'

export type { SessionUser }

const TOKEN_BYTES = 32
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/

/** Lookups of one event-loop turn share a statement; a few statements may run at once. */
const LOOKUP_BATCH_MAX = 256
const LOOKUPS_IN_FLIGHT = 2
const CACHED_SESSIONS_MAX = 100_000

// The database holds only a hash of each token, so a leaked table holds no usable session.
const hashToken = (token: string) => createHash('sha256').update(token).digest()

export function createSessions(deps: { db: Db; ttlSeconds: number; cacheMs: number }) {
  const cache = new SessionCache({ ttlMs: deps.cacheMs, maxEntries: CACHED_SESSIONS_MAX })
  const lookups = new Batcher<Buffer, FoundSession | undefined>(
    async (hashes) => {
      const found = await findSessions(deps.db, hashes)
      return hashes.map((hash) => ({ status: 'fulfilled', value: found.get(hash.toString('base64')) }))
    },
    { maxBatch: LOOKUP_BATCH_MAX, maxConcurrent: LOOKUPS_IN_FLIGHT, lingerMs: 0 },
  )
  return {
    /** Starts a session and returns its bearer token (256 random bits, base64url). */
    async start(userId: number, userAgent: string | undefined): Promise<string> {
      const token = randomBytes(TOKEN_BYTES).toString('base64url')
      await insertSession(deps.db, {
        userId,
        tokenHash: hashToken(token),
        userAgent: userAgent?.slice(0, 512) ?? null,
        expiresAt: new Date(Date.now() + deps.ttlSeconds * 1000),
      })
      return token
    },

    /** The user behind a token, or undefined for a malformed, unknown or expired one. */
    async authenticate(token: string | undefined): Promise<SessionUser | undefined> {
      if (token === undefined || !TOKEN_SHAPE.test(token)) return undefined
      const hash = hashToken(token)
      const key = hash.toString('base64')
      const cached = cache.get(key)
      if (cached) return cached
      const found = await lookups.load(hash)
      if (!found) return undefined
      cache.set(key, found.user, found.expiresAt)
      return found.user
    },
  }
}

export type Sessions = ReturnType<typeof createSessions>
