import { Batcher } from '../storage/batcher.js'
import type { Db } from '../storage/db.js'
import { presenceAudiences } from '../storage/memberships.js'
import type { Publisher } from '../chat/publisher.js'

/** Look-ups of one event-loop turn (a reconnect storm brings many) share a statement. */
const LOOKUP_BATCH_MAX = 500

/**
 * Presence goes to a user's contacts: the users they share a direct conversation with. One batched
 * look-up per change of a user's state (not per device or socket), then one notice for all the
 * contacts' sockets.
 */
export function createPresenceAnnouncer(deps: { db: Db; publish: Publisher }) {
  const audiences = new Batcher<number, { username: string; contacts: number[] } | undefined>(
    async (userIds) => (await presenceAudiences(deps.db, userIds)).map((value) => ({ status: 'fulfilled', value })),
    { maxBatch: LOOKUP_BATCH_MAX, maxConcurrent: 1 },
  )
  return async (userId: number, online: boolean): Promise<void> => {
    const audience = await audiences.load(userId)
    if (audience) await deps.publish.notice(audience.contacts, { type: 'presence', user: audience.username, online })
  }
}
