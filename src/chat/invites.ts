import type { Limit } from '../auth/rate-limits.js'
import { hashToken, newToken, wellFormedToken } from '../auth/tokens.js'
import { ChatError } from '../errors.js'
import { conversationUrl } from '../protocol/events.js'
import type { Db } from '../storage/db.js'
import { type FoundInvite, type InviteRow, deleteInvite, findInvite, insertInvite, listInvites, redeemInvite } from '../storage/invites.js'
import type { AccessCheck } from './access.js'
import type { Membership } from './membership.js'
import type { Author } from './messages.js'
import { refuseAcrossBlock } from './people.js'

export const INVITES_LISTED_MAX = 100

export interface InviteView {
  id: number
  createdAt: string
  expiresAt: string | null
  maxUses: number | null
  uses: number
}

const view = (row: InviteRow): InviteView => ({
  id: row.id,
  createdAt: row.created_at.toISOString(),
  expiresAt: row.expires_at?.toISOString() ?? null,
  maxUses: row.max_uses,
  uses: row.uses,
})

/** Where an invite is used: its token is the only secret, and it is shown once, when it is made. */
export const inviteUrl = (token: string) => `/api/invites/${token}`

const notFound = () => new ChatError('not_found', 'invite not found')
const gone = () => new ChatError('gone', 'this invite has expired or been used up')

/**
 * Invite links. A conversation's owner makes one for any kind but direct; whoever holds its token
 * sees the conversation's title and member count and, signed in, joins. A token the database does
 * not know (revoked, forged, mistyped) is 404; one that expired or was used up is 410. Making them
 * counts per owner, and using them (looking or joining) per client address, across all nodes.
 */
export function createInvites(deps: { db: Db; access: AccessCheck; membership: Membership; limits: { created: Limit; uses: Limit } }) {
  const { db, access, membership, limits } = deps

  /** The invite of this token that still admits someone; counted against the address first, so that guessing costs as much as using. */
  async function usable(token: string, ip: string): Promise<FoundInvite> {
    await limits.uses.consume(ip)
    const invite = wellFormedToken(token) ? await findInvite(db, hashToken(token)) : undefined
    if (!invite) throw notFound()
    if (!invite.usable) throw gone()
    return invite
  }

  return {
    /** The owner makes an invite; the answer holds its token, which is never shown again. */
    async create(owner: Author, conversationId: number, options: { expiresInSeconds?: number; maxUses?: number }) {
      await limits.created.consume(owner.userId)
      const { kind } = await access.asOwner(conversationId, owner.userId)
      if (kind === 'direct') throw new ChatError('invalid', 'a direct conversation has exactly its two users: it has no invites')
      const token = newToken()
      const row = await insertInvite(db, {
        conversationId,
        tokenHash: hashToken(token),
        createdBy: owner.userId,
        expiresInSeconds: options.expiresInSeconds ?? null,
        maxUses: options.maxUses ?? null,
      })
      return { ...view(row), token, url: inviteUrl(token) }
    },

    /** The owner's list of a conversation's invites, newest first, expired and used-up ones included; without their tokens. */
    async list(owner: Author, conversationId: number): Promise<InviteView[]> {
      await access.asOwner(conversationId, owner.userId)
      return (await listInvites(db, conversationId, INVITES_LISTED_MAX)).map(view)
    },

    /** The owner revokes an invite: it is deleted, and its token names nothing from then on. */
    async revoke(owner: Author, conversationId: number, inviteId: number): Promise<void> {
      await access.asOwner(conversationId, owner.userId)
      if (!(await deleteInvite(db, conversationId, inviteId))) throw notFound()
    },

    /** What an invite shows anyone who holds it, signed in or not: the title and the member count, nothing else. */
    async preview(token: string, ip: string): Promise<{ title: string; members: number }> {
      const { title, members } = await usable(token, ip)
      return { title, members }
    },

    /**
     * Joins the invite's conversation: a use is counted in the transaction of the join, so of
     * concurrent joins on its last use exactly one gets in. A member already is answered as
     * joined, and uses nothing. A block between the user and the conversation's owner refuses it
     * (403), as the owner could not add them.
     */
    async accept(user: Author, token: string, ip: string): Promise<{ url: string; joined: boolean }> {
      const invite = await usable(token, ip)
      await refuseAcrossBlock(db, user.userId, invite.owner_id)
      const joined = await membership.joinByInvite(user, invite.conversation_id, async (trx) => {
        const outcome = await redeemInvite(trx, invite.id)
        if (outcome === 'missing') throw notFound()
        if (outcome === 'gone') throw gone()
      })
      return { url: conversationUrl(invite.conversation_id), joined }
    },
  }
}

export type Invites = ReturnType<typeof createInvites>
