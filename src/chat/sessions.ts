import { createHash, randomBytes } from 'node:crypto'
import type { Db } from '../storage/db.js'
import { type SessionUser, findSessionUser, insertSession } from '../storage/sessions.js'

export type { SessionUser }

const TOKEN_BYTES = 32
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/

// The database holds only a hash of each token, so a leaked table holds no usable session.
const hashToken = (token: string) => createHash('sha256').update(token).digest()

export function createSessions(deps: { db: Db; ttlSeconds: number }) {
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
      return findSessionUser(deps.db, hashToken(token))
    },
  }
}

export type Sessions = ReturnType<typeof createSessions>
