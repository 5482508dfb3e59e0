import type { Limit } from '../auth/rate-limits.js'
import { ChatError } from '../errors.js'
import { reactionChanged } from '../protocol/events.js'
import { isReactionEmoji } from '../protocol/fields.js'
import { REACTIONS_PER_MESSAGE_MAX } from '../protocol/limits.js'
import type { MessageWithReactions, ReactionChange } from '../protocol/rest.js'
import type { Db } from '../storage/db.js'
import { type LogRow, findMessage, insertLogEntry, takeLogSeq } from '../storage/messages.js'
import { type ReactionSummary, deleteReaction, insertReaction, reactionsOf } from '../storage/reactions.js'
import { postRefusalUnderLock, postRefused } from './access.js'
import type { Author } from './messages.js'
import type { Publisher } from './publisher.js'
import { toMessageView } from './views.js'

/**
 * Emoji reactions to messages. Adding or removing one is a change of the conversation's log, with
 * its own seq like an edit (reaction.added, reaction.removed), decided under the conversation's row
 * lock: who may react (whoever may post there, blocks included), whether the message is there, and
 * the emoji's count after it, which the event carries. A change that changes nothing (a second
 * identical reaction, taking back one that is not there) writes nothing and publishes nothing.
 */

/** Thrown inside a change's transaction when it changes nothing, to roll it back: the seq it took is given back. */
class Unchanged {
  constructor(readonly reactions: ReactionSummary[]) {}
}

/** A message's reactions after `emoji` is added to them: the same array when the user had reacted so already. */
function added(reactions: ReactionSummary[], emoji: string): ReactionSummary[] {
  const existing = reactions.find((r) => r.emoji === emoji)
  if (existing?.me) return reactions
  if (existing) return reactions.map((r) => (r === existing ? { emoji, count: r.count + 1, me: true } : r))
  if (reactions.length >= REACTIONS_PER_MESSAGE_MAX)
    throw new ChatError('invalid', `a message carries at most ${REACTIONS_PER_MESSAGE_MAX} different emoji; add one of those it has`)
  return [...reactions, { emoji, count: 1, me: true }]
}

/** A message's reactions after the user takes back `emoji`: the same array when they had not reacted so. */
function removed(reactions: ReactionSummary[], emoji: string): ReactionSummary[] {
  const mine = reactions.find((r) => r.emoji === emoji && r.me)
  if (!mine) return reactions
  if (mine.count === 1) return reactions.filter((r) => r !== mine)
  return reactions.map((r) => (r === mine ? { emoji, count: r.count - 1, me: false } : r))
}

/** Message views of log rows with their reactions, as `userId` (undefined: not logged in) sees them. One statement. */
export async function withReactions(db: Db, userId: number | undefined, conversationId: number, rows: readonly LogRow[]): Promise<MessageWithReactions[]> {
  const reactions = await reactionsOf(db, conversationId, rows.map((row) => row.seq), userId)
  return rows.map((row) => ({ ...toMessageView(row), reactions: reactions.get(row.seq) ?? [] }))
}

export function createReactions(deps: {
  db: Db
  publish: Publisher
  /** The message rate limit: every attempt counts, as a post does. */
  limit: Limit
}) {
  const { db, publish } = deps

  async function change(user: Author, conversationId: number, messageSeq: number, emoji: string, adding: boolean): Promise<ReactionChange> {
    if (!isReactionEmoji(emoji)) throw new ChatError('invalid', 'emoji must be one emoji (Unicode RGI, fully qualified), nothing else')
    await deps.limit.consume(user.userId)
    const key = { conversationId, messageSeq, emoji, userId: user.userId }
    let done: { seq: number; count: number; reactions: ReactionSummary[] }
    try {
      done = await db.transaction().execute(async (trx) => {
        const position = await takeLogSeq(trx, conversationId)
        if (position === undefined) throw postRefused('not_found')
        const refusal = await postRefusalUnderLock(trx, conversationId, user.userId)
        if (refusal !== undefined) throw postRefused(refusal)
        if (!(await findMessage(trx, conversationId, messageSeq))) throw new ChatError('not_found', 'message not found')
        const before = (await reactionsOf(trx, conversationId, [messageSeq], user.userId)).get(messageSeq) ?? []
        const reactions = adding ? added(before, emoji) : removed(before, emoji)
        if (reactions === before) throw new Unchanged(before)
        if (adding) await insertReaction(trx, key, position.at)
        else await deleteReaction(trx, key)
        const count = reactions.find((r) => r.emoji === emoji)?.count ?? 0
        const kind = adding ? 'reaction_added' : 'reaction_removed'
        await insertLogEntry(trx, { conversationId, ...position, kind, authorId: user.userId, text: emoji, targetSeq: messageSeq, reactionCount: count })
        return { seq: position.seq, count, reactions }
      })
    } catch (err) {
      if (err instanceof Unchanged) return { changed: false, reactions: err.reactions }
      throw err
    }
    const type = adding ? 'reaction.added' : 'reaction.removed'
    await publish.event(reactionChanged(type, conversationId, done.seq, messageSeq, emoji, user.username, done.count))
    return { changed: true, reactions: done.reactions }
  }

  return {
    /** Adds the user's reaction with `emoji` to a message; resolves to whether it was new, and the message's reactions now. */
    add: (user: Author, conversationId: number, messageSeq: number, emoji: string) => change(user, conversationId, messageSeq, emoji, true),
    /** Takes the user's reaction with `emoji` back; resolves to whether they had one, and the message's reactions now. */
    remove: (user: Author, conversationId: number, messageSeq: number, emoji: string) => change(user, conversationId, messageSeq, emoji, false),
  }
}

export type Reactions = ReturnType<typeof createReactions>
