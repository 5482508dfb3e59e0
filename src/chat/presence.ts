import type { Db } from '../storage/db.js'
import { directContacts } from '../storage/memberships.js'
import { findUser } from '../storage/users.js'
import type { Publisher } from './publisher.js'

/**
 * Presence goes to a user's contacts: the users they share a direct conversation with. One query per
 * change of a user's state (not per device or socket), then one notice for all the contacts' sockets.
 */
export function createPresenceAnnouncer(deps: { db: Db; publish: Publisher }) {
  return async (userId: number, online: boolean): Promise<void> => {
    const [user, contacts] = await Promise.all([findUser(deps.db, { id: userId }), directContacts(deps.db, userId)])
    if (!user) return
    await deps.publish.notice(contacts, { type: 'presence', user: user.username, online })
  }
}
