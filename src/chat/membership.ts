import { ChatError } from '../errors.js'
import type { Db } from '../storage/db.js'
import { deleteMember, insertMember, listMembers } from '../storage/memberships.js'
import { insertLogEntry, takeLogSeq } from '../storage/messages.js'
import type { ConversationKind, MemberRole } from '../storage/schema.js'
import type { AccessCheck } from './access.js'
import { pageOf, rowsToRead } from './pages.js'
import type { Author } from './messages.js'
import { refuseAcrossBlock, userNamed } from './people.js'
import type { Publisher } from './publisher.js'
import { conversationUrl, memberAdded, memberRemoved } from '../protocol/events.js'

export const MEMBERS_PAGE_MAX = 200

export interface MemberView {
  user: string
  displayName: string | null
  role: MemberRole
  joined: string
}

/**
 * Joining, leaving, adding and removing members. Each change takes a seq in the conversation's log
 * under its row lock, like a post, so it is ordered with the posts around it: a member removed at
 * seq n gets nothing after n, on any node, and cannot post once the removal has committed.
 */
export function createMembership(deps: { db: Db; access: AccessCheck; publish: Publisher }) {
  const { db, access, publish } = deps

  /** Adds or removes `member` in one transaction with its log entry, then publishes the event. */
  async function change(conversationId: number, actor: Author, member: Author, kind: 'member_added' | 'member_removed'): Promise<boolean> {
    const seq = await db.transaction().execute(async (trx) => {
      const position = await takeLogSeq(trx, conversationId)
      if (position === undefined) throw new ChatError('not_found', 'conversation not found')
      const changed = kind === 'member_added' ? await insertMember(trx, conversationId, member.userId) : await deleteMember(trx, conversationId, member.userId)
      if (!changed) {
        // Nothing to record: give the seq back by rolling back.
        throw new NoChange()
      }
      await insertLogEntry(trx, { conversationId, ...position, kind, authorId: actor.userId, subjectId: member.userId })
      return position.seq
    }).catch((err: unknown) => {
      if (err instanceof NoChange) return undefined
      throw err
    })
    if (seq === undefined) return false
    const by = actor.username
    if (kind === 'member_added') {
      await publish.event(memberAdded(conversationId, seq, member.username, by))
      await publish.notice([member.userId], { type: 'conversation.added', conversationId, url: conversationUrl(conversationId), by })
    } else {
      await publish.event(memberRemoved(conversationId, seq, member.username, by, member.userId))
      await publish.notice([member.userId], { type: 'conversation.removed', conversationId, by })
    }
    return true
  }

  const cannotChangeMembers = (kind: ConversationKind) => {
    if (kind === 'direct') throw new ChatError('invalid', 'a direct conversation has exactly its two users')
  }

  return {
    /** Joins an open conversation. Resolves to false when the user was a member already. */
    async join(user: Author, conversationId: number): Promise<boolean> {
      const { kind, role } = await access.toRead(conversationId, user.userId)
      if (role !== null) return false
      if (kind !== 'open') throw new ChatError('forbidden', "only the conversation's owner adds members here")
      return change(conversationId, user, user, 'member_added')
    },

    /** Leaves a conversation. Its owner cannot leave, nor can either user of a direct one (they hide it instead). */
    async leave(user: Author, conversationId: number): Promise<void> {
      const { kind, role } = await access.asMember(conversationId, user.userId)
      cannotChangeMembers(kind)
      if (role === 'owner') throw new ChatError('invalid', 'the owner cannot leave the conversation')
      await change(conversationId, user, user, 'member_removed')
    },

    /** The owner adds someone. Resolves to false when they were a member already. */
    async add(owner: Author, conversationId: number, username: string): Promise<boolean> {
      const { kind } = await access.asOwner(conversationId, owner.userId)
      cannotChangeMembers(kind)
      const member = await userNamed(db, username)
      await refuseAcrossBlock(db, owner.userId, member.userId)
      return change(conversationId, owner, member, 'member_added')
    },

    /** Adds members to a conversation its owner has just created, after checking them (names and blocks) beforehand. */
    async addChecked(owner: Author, conversationId: number, members: readonly Author[]): Promise<void> {
      for (const member of members) await change(conversationId, owner, member, 'member_added')
    },

    /** The owner removes someone (not themselves). 404 when they are not a member. */
    async remove(owner: Author, conversationId: number, username: string): Promise<void> {
      const { kind } = await access.asOwner(conversationId, owner.userId)
      cannotChangeMembers(kind)
      const member = await userNamed(db, username)
      if (member.userId === owner.userId) throw new ChatError('invalid', 'the owner cannot leave the conversation')
      if (!(await change(conversationId, owner, member, 'member_removed'))) throw new ChatError('not_found', 'not a member')
    },

    /** Members by id, `limit` at a time after `afterUserId`; anyone who may read the conversation may list them. */
    async list(userId: number, conversationId: number, limit: number, afterUserId?: number) {
      await access.toRead(conversationId, userId)
      const { rows, next } = pageOf(await listMembers(db, conversationId, rowsToRead(limit), afterUserId), limit, (r) => String(r.user_id))
      const members: MemberView[] = rows.map((r) => ({ user: r.username, displayName: r.display_name, role: r.role, joined: r.joined_at.toISOString() }))
      return { members, next }
    },
  }
}

class NoChange extends Error {}

export type Membership = ReturnType<typeof createMembership>
