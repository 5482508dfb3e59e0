import type { EventOf, Reaction } from './types.js'

/** A reaction event, added or removed. */
export type ReactionEvent = EventOf<'reaction.added' | 'reaction.removed'>

/**
 * A message's reactions after a reaction event, as `me` (the signed-in user's name; null or undefined: nobody) sees them. The
 * event carries the emoji's count after it and who reacted, not `me` (it is serialised once for
 * every reader), so `me` changes only when `me` reacted: set by their reaction.added, cleared by
 * their reaction.removed. The count is set, not added to, so applying an event the reactions already
 * show (a message page read after it, say) changes nothing. A new emoji goes last, as the server
 * orders them (by first use); an emoji whose count falls to 0 goes.
 */
export function applyReaction(reactions: readonly Reaction[], event: ReactionEvent, me: string | null | undefined): Reaction[] {
  const existing = reactions.find((r) => r.emoji === event.emoji)
  const mine = event.user === me ? event.type === 'reaction.added' : (existing?.me ?? false)
  const updated: Reaction = { emoji: event.emoji, count: event.count, me: mine }
  if (event.count === 0) return reactions.filter((r) => r !== existing)
  return existing ? reactions.map((r) => (r === existing ? updated : r)) : [...reactions, updated]
}
