import { ChatError } from '../errors.js'
import { Batcher } from '../storage/batcher.js'
import { blockedWithinConversation } from '../storage/blocks.js'
import { type AccessRequest, type AccessRow, findAccess } from '../storage/conversations.js'
import type { Db, Trx } from '../storage/db.js'

/** What someone may do in a conversation. */
export interface Access extends AccessRow {
  conversationId: number
  mayPost: boolean
}

/** Why someone may not post: the conversation is hidden from them, they may read but not post, or a block stands in a direct conversation. */
export type PostRefusal = 'not_found' | 'forbidden' | 'blocked'

/**
 * Who may post, leaving out blocks: anyone logged in where the conversation is open, its members
 * anywhere else. append_messages (migrations/0004) must apply the same rule again, blocks included,
 * in SQL: it decides in the statement that takes the post's seq, under the conversation's row lock,
 * so that a removal or a block that commits first is never missed. Keep the two in step.
 */
const mayPost = (row: AccessRow, userId: number | undefined) => userId !== undefined && (row.kind === 'open' || row.role !== null)
const mayRead = (row: AccessRow, userId: number | undefined) => row.kind === 'public' || (userId !== undefined && (row.kind === 'open' || row.role !== null))

/** The error a refused post or change gets, whoever refused it: append_messages, or a check here. */
export function postRefused(reason: PostRefusal): ChatError {
  if (reason === 'not_found') return new ChatError('not_found', 'conversation not found')
  if (reason === 'forbidden') return new ChatError('forbidden', 'only members may post here')
  return new ChatError('forbidden', 'a block stands between the two users of this conversation')
}

/**
 * Why `userId` may not post in a conversation, blocks included, decided in `trx`: a change that is
 * not a post (a reaction) calls it after takeLogSeq, under the conversation's row lock, so that it is
 * ordered with membership changes and blocks as a post is in append_messages. Undefined: they may.
 */
export async function postRefusalUnderLock(trx: Trx, conversationId: number, userId: number): Promise<PostRefusal | undefined> {
  const [row] = await findAccess(trx, [{ conversationId, userId }])
  if (row === undefined || !mayRead(row, userId)) return 'not_found'
  if (!mayPost(row, userId)) return 'forbidden'
  if (row.kind === 'direct' && (await blockedWithinConversation(trx, conversationId, userId))) return 'blocked'
  return undefined
}

/** Checks of one event-loop turn (a resume storm, say) share a statement. */
const CHECK_BATCH_MAX = 500
const CHECKS_IN_FLIGHT = 2

/**
 * Who may read and post where:
 * - open: anyone logged in reads and posts;
 * - public: anyone reads, logged in or not; members post;
 * - private and direct: members only. To anyone else they do not exist (404).
 * Someone not logged in is asked to log in (401) for anything that is not public.
 */
export function createAccessCheck(db: Db) {
  const checks = new Batcher<AccessRequest, AccessRow | undefined>(
    async (requests) => (await findAccess(db, requests)).map((value) => ({ status: 'fulfilled', value })),
    { maxBatch: CHECK_BATCH_MAX, maxConcurrent: CHECKS_IN_FLIGHT },
  )

  /** Resolves when `userId` (undefined: not logged in) may read the conversation; throws 401 or 404 otherwise. */
  async function toRead(conversationId: number, userId: number | undefined): Promise<Access> {
    const row = await checks.load({ conversationId, userId })
    if (row === undefined || !mayRead(row, userId)) {
      if (userId === undefined) throw new ChatError('unauthorised', 'log in to read this conversation')
      throw postRefused('not_found')
    }
    return { conversationId, ...row, mayPost: mayPost(row, userId) }
  }

  return {
    toRead,

    /** As toRead, then 403 unless the user is a member. */
    async asMember(conversationId: number, userId: number): Promise<Access> {
      const access = await toRead(conversationId, userId)
      if (access.role === null) throw new ChatError('forbidden', 'only members may do this')
      return access
    },

    /** As toRead, then 403 unless the user owns the conversation. */
    async asOwner(conversationId: number, userId: number): Promise<Access> {
      const access = await toRead(conversationId, userId)
      if (access.role !== 'owner') throw new ChatError('forbidden', "only the conversation's owner may do this")
      return access
    },
  }
}

export type AccessCheck = ReturnType<typeof createAccessCheck>
