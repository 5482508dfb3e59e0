import { sql } from 'kysely'
import type { Db, Trx } from './db.js'
import type { ConversationKind } from './schema.js'

export interface InviteRow {
  id: number
  created_at: Date
  expires_at: Date | null
  max_uses: number | null
  uses: number
}

const INVITE_COLUMNS = ['id', 'created_at', 'expires_at', 'max_uses', 'uses'] as const

export async function insertInvite(
  db: Db,
  invite: { conversationId: number; tokenHash: Buffer; createdBy: number; expiresInSeconds: number | null; maxUses: number | null },
): Promise<InviteRow> {
  return db
    .insertInto('invites')
    .values({
      conversation_id: invite.conversationId,
      token_hash: invite.tokenHash,
      created_by: invite.createdBy,
      // By Postgres' clock, which decides expiry too (usable, below).
      expires_at: invite.expiresInSeconds === null ? null : sql<Date>`now() + ${invite.expiresInSeconds} * interval '1 second'`,
      max_uses: invite.maxUses,
    })
    .returning(INVITE_COLUMNS)
    .executeTakeFirstOrThrow()
}

/** An invite with what its holder may learn and what joining needs: the conversation, its owner and member count, and whether it still admits anyone. */
export interface FoundInvite {
  id: number
  conversation_id: number
  kind: ConversationKind
  title: string
  owner_id: number
  members: number
  /** False once it expired or was used up. */
  usable: boolean
}

/** Postgres' own clock decides expiry, the same for every node. */
const usable = sql<boolean>`(i.expires_at IS NULL OR i.expires_at > now()) AND (i.max_uses IS NULL OR i.uses < i.max_uses)`

export async function findInvite(db: Db, tokenHash: Buffer): Promise<FoundInvite | undefined> {
  const result = await sql<FoundInvite>`
    SELECT i.id, i.conversation_id, c.kind, c.title, c.created_by AS owner_id,
           (SELECT count(*)::int FROM memberships m WHERE m.conversation_id = c.id) AS members,
           ${usable} AS usable
      FROM invites i JOIN conversations c ON c.id = i.conversation_id
     WHERE i.token_hash = ${tokenHash}`.execute(db)
  return result.rows[0]
}

/**
 * Counts one use, if the invite still admits anyone: one statement, so that of concurrent joins on
 * its last use exactly one counts (the others wait for its row lock, then find it used up).
 * 'missing' when it was revoked meanwhile, 'gone' when it expired or was used up.
 */
export async function redeemInvite(trx: Trx, id: number): Promise<'redeemed' | 'gone' | 'missing'> {
  const redeemed = await sql`UPDATE invites i SET uses = i.uses + 1 WHERE i.id = ${id} AND ${usable}`.execute(trx)
  if ((redeemed.numAffectedRows ?? 0n) > 0n) return 'redeemed'
  const exists = await trx.selectFrom('invites').select('id').where('id', '=', id).executeTakeFirst()
  return exists ? 'gone' : 'missing'
}

/** A conversation's newest invites, newest first, `limit` at most. */
export async function listInvites(db: Db, conversationId: number, limit: number): Promise<InviteRow[]> {
  return db.selectFrom('invites').select(INVITE_COLUMNS).where('conversation_id', '=', conversationId).orderBy('id', 'desc').limit(limit).execute()
}

/** Deletes one of a conversation's invites; false when it has none of that id. */
export async function deleteInvite(db: Db, conversationId: number, id: number): Promise<boolean> {
  const result = await db.deleteFrom('invites').where('conversation_id', '=', conversationId).where('id', '=', id).executeTakeFirst()
  return result.numDeletedRows > 0n
}
