import { ChatError, UnknownUsers } from '../errors.js'
import { blockedEitherWay } from '../storage/blocks.js'
import type { Db } from '../storage/db.js'
import { type UserRow, findUsersNamed } from '../storage/users.js'
import type { Author } from './messages.js'

/** The users of these names (in any letter case), in the order given; 404 naming every name that names nobody. */
export async function usersNamed(db: Db, usernames: readonly string[]): Promise<Author[]> {
  const byName = new Map((await findUsersNamed(db, usernames)).map((user) => [user.username.toLowerCase(), user]))
  const unknown = usernames.filter((name) => !byName.has(name.toLowerCase()))
  if (unknown.length > 0) throw new UnknownUsers([...new Set(unknown)])
  return usernames.map((name) => {
    const user = byName.get(name.toLowerCase()) as UserRow
    return { userId: user.id, username: user.username }
  })
}

/** The user of that name (in any letter case), or 404 naming it. */
export async function userNamed(db: Db, username: string): Promise<Author> {
  const [user] = await usersNamed(db, [username])
  return user as Author
}

/** 403 when either of the two users has blocked the other. */
export async function refuseAcrossBlock(db: Db, userId: number, otherId: number): Promise<void> {
  if (await blockedEitherWay(db, userId, otherId)) throw new ChatError('forbidden', 'a block stands between you and this user')
}
