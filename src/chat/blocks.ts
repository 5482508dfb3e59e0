import { ChatError } from '../errors.js'
import { deleteBlock, insertBlock, listBlocks } from '../storage/blocks.js'
import type { Db } from '../storage/db.js'
import type { Author } from './messages.js'
import { userNamed } from './people.js'

/**
 * Blocking, by username. Between two users with a block either way, neither can start a direct
 * conversation, post to theirs, or add the other to a conversation. Shared conversations are not
 * filtered: clients hide a blocked user's messages there with the list this gives.
 */
export function createBlocks(deps: { db: Db }) {
  const { db } = deps

  async function target(me: Author, username: string): Promise<Author> {
    const user = await userNamed(db, username)
    if (user.userId === me.userId) throw new ChatError('invalid', 'you cannot block yourself')
    return user
  }

  return {
    /** Resolves to false when the block was there already. */
    async block(me: Author, username: string): Promise<boolean> {
      return insertBlock(db, me.userId, (await target(me, username)).userId)
    },

    async unblock(me: Author, username: string): Promise<void> {
      if (!(await deleteBlock(db, me.userId, (await target(me, username)).userId))) throw new ChatError('not_found', 'this user is not blocked')
    },

    async list(me: Author) {
      return (await listBlocks(db, me.userId)).map((b) => ({ username: b.username, since: b.created_at.toISOString() }))
    },
  }
}

export type Blocks = ReturnType<typeof createBlocks>
