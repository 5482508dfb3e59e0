import type { SessionUser } from '../storage/sessions.js'

interface Entry {
  user: SessionUser
  /** performance.now() after which the entry is not used: the cache's TTL or the session's expiry, whichever is first. */
  until: number
}

/**
 * This node's memory of sessions it looked up lately, keyed by token hash (never by token, so a heap
 * dump holds nothing usable). Only sessions that exist are kept, so that made-up tokens cannot fill
 * it. A session is trusted from here for at most ttlMs and never past its expiry; anything that ends
 * a session early must also evict it on every node.
 */
export class SessionCache {
  private readonly entries = new Map<string, Entry>()

  constructor(private readonly options: { ttlMs: number; maxEntries: number }) {}

  get(key: string): SessionUser | undefined {
    const entry = this.entries.get(key)
    if (!entry) return undefined
    if (entry.until > performance.now()) return entry.user
    this.entries.delete(key)
    return undefined
  }

  set(key: string, user: SessionUser, expiresAt: Date): void {
    if (this.options.ttlMs === 0) return
    const untilExpiry = expiresAt.getTime() - Date.now()
    this.entries.delete(key)
    // Maps iterate in insertion order, so the first key is the oldest entry.
    if (this.entries.size >= this.options.maxEntries) this.entries.delete(this.entries.keys().next().value as string)
    this.entries.set(key, { user, until: performance.now() + Math.min(this.options.ttlMs, untilExpiry) })
  }
}
