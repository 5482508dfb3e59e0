import type { PresenceStore } from './store.js'

/**
 * Presence in this process' memory, for a node that runs alone. Each user's pairs are a map from
 * node instance to expiry, so a user is online while their map is not empty: the map's size is
 * their count. Expiries are on this process' monotonic clock, which plays the part of Redis' TIME
 * (no other clock has to agree with it). Each call runs to its end without yielding, so it is as
 * atomic as a script.
 */
export class MemoryPresenceStore implements PresenceStore {
  private readonly pairs = new Map<number, Map<string, number>>()

  async refresh(instance: string, userIds: readonly number[], ttlMs: number): Promise<number[]> {
    const expires = performance.now() + ttlMs
    const online: number[] = []
    for (const userId of userIds) {
      let instances = this.pairs.get(userId)
      if (!instances) {
        instances = new Map()
        this.pairs.set(userId, instances)
        online.push(userId)
      }
      instances.set(instance, expires)
    }
    return online
  }

  async release(instance: string, userIds: readonly number[]): Promise<number[]> {
    return userIds.filter((userId) => {
      const instances = this.pairs.get(userId)
      if (!instances?.delete(instance) || instances.size > 0) return false
      this.pairs.delete(userId)
      return true
    })
  }

  /** Every expired pair at once: a scan of the users, once per heartbeat, in a process that holds their sockets anyway. */
  async sweep(): Promise<number[]> {
    const now = performance.now()
    const offline: number[] = []
    for (const [userId, instances] of this.pairs) {
      for (const [instance, expires] of instances) if (expires <= now) instances.delete(instance)
      if (instances.size > 0) continue
      this.pairs.delete(userId)
      offline.push(userId)
    }
    return offline
  }

  async onlineAmong(userIds: readonly number[]): Promise<Set<number>> {
    return new Set(userIds.filter((userId) => this.pairs.has(userId)))
  }
}
