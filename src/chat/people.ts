import { ChatError } from '../errors.js'
import { blockedEitherWay } from '../storage/blocks.js'
import type { Db } from '../storage/db.js'
import { findUser } from '../storage/users.js'
import type { Author } from './messages.js'

/** The user of that name (in any letter case), or 404. */
export async function userNamed(db: Db, username: string): Promise<Author> {
  const user = await findUser(db, { username })
  if (!user) throw new ChatError('not_found', `user not found: ${username}`)
  return { userId: user.id, username: user.username }
}

/** 403 when either of the two users has blocked the other. */
export async function refuseAcrossBlock(db: Db, userId: number, otherId: number): Promise<void> {
  if (await blockedEitherWay(db, userId, otherId)) throw new ChatError('forbidden', 'a block stands between you and this user')
}
