/** What the cache keeps of a session: anything that names it. */
interface Session {
  sessionId: number
}

interface Entry<S extends Session> {
  user: S
  /** performance.now() after which the entry is not used: the cache's TTL or the session's own end, whichever is first. */
  until: number
}

/**
 * This node's memory of sessions it looked up lately, keyed by credential (a cookie token's hash,
 * never the token, so a heap dump holds nothing usable; or a session id from a verified access
 * token). Only sessions that exist are kept, so that made-up tokens cannot fill it. A session is
 * trusted from here for at most ttlMs and never past its end; revoking a session evicts it on every
 * node (see sessions.ts).
 */
export class SessionCache<S extends Session> {
  private readonly entries = new Map<string, Entry<S>>()
  /** A session is reached by one kind of credential only (a cookie, or access tokens), so it has one key. */
  private readonly keyBySession = new Map<number, string>()

  constructor(private readonly options: { ttlMs: number; maxEntries: number }) {}

  get(key: string): S | undefined {
    const entry = this.entries.get(key)
    if (!entry) return undefined
    if (entry.until > performance.now()) return entry.user
    this.delete(key)
    return undefined
  }

  set(key: string, user: S, validUntil: Date): void {
    if (this.options.ttlMs === 0) return
    const untilEnd = validUntil.getTime() - Date.now()
    this.delete(key)
    // Maps iterate in insertion order, so the first key is the oldest entry.
    if (this.entries.size >= this.options.maxEntries) this.delete(this.entries.keys().next().value as string)
    this.entries.set(key, { user, until: performance.now() + Math.min(this.options.ttlMs, untilEnd) })
    this.keyBySession.set(user.sessionId, key)
  }

  /** Forgets sessions that ended. */
  evict(sessionIds: Iterable<number>): void {
    for (const id of sessionIds) {
      const key = this.keyBySession.get(id)
      if (key !== undefined) this.delete(key)
    }
  }

  private delete(key: string): void {
    const entry = this.entries.get(key)
    if (!entry) return
    this.entries.delete(key)
    this.keyBySession.delete(entry.user.sessionId)
  }
}
