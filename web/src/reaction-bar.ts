import type { ConversationMessage } from '@chat-cluster/client'
import { count, el, excerpt } from './dom.js'

/** The emoji the picker offers: a few that say most things. */
export const PICKER_EMOJI = ['👍', '❤️', '😂', '🎉', '😮', '😢', '🙏', '👀']

export interface ReactionActions {
  /** Adds the user's reaction with this emoji, or takes it back if they have one. */
  toggleReaction(seq: number, emoji: string): void
  /** Adds the user's reaction with this emoji; nothing changes if they have one. */
  addReaction(seq: number, emoji: string): void
  /** The messages whose picker is open: it stays open when its message is drawn again (someone else reacted). */
  readonly pickersOpen: Set<number>
}

/**
 * A message's reactions, under it: a chip per emoji with its count, pressed when the user is one of
 * those who reacted so, which adds or takes back theirs with a click; and a small picker of common
 * emoji. The counts change when the events come, on every device.
 */
export function drawReactions(message: ConversationMessage, actions: ReactionActions): HTMLElement {
  const about = `“${excerpt(message.text, 30)}”`
  const chips = message.reactions.map(({ emoji, count: n, me }) =>
    el(
      'button',
      {
        class: 'reaction',
        attrs: {
          type: 'button',
          'aria-pressed': String(me),
          'aria-label': `${emoji} ${count(n)}${me ? ', yours: take it back' : ': react so too'}`,
          title: me ? 'You reacted so: click to take it back' : 'Click to react so too',
        },
        on: { click: () => actions.toggleReaction(message.seq, emoji) },
      },
      `${emoji} ${count(n)}`,
    ),
  )
  const pick = (emoji: string) => {
    picker.open = false
    actions.addReaction(message.seq, emoji)
  }
  const picker: HTMLDetailsElement = el(
    'details',
    {
      class: 'reaction-picker',
      attrs: { open: actions.pickersOpen.has(message.seq) },
      on: { toggle: () => (picker.open ? actions.pickersOpen.add(message.seq) : actions.pickersOpen.delete(message.seq)) },
    },
    el('summary', { attrs: { 'aria-label': `React to ${about}`, title: 'React' } }, '☺︎+'),
    el(
      'div',
      { class: 'picker-choices', attrs: { role: 'group', 'aria-label': 'Emoji' } },
      ...PICKER_EMOJI.map((emoji) =>
        el('button', { class: 'pick', attrs: { type: 'button', 'aria-label': `React with ${emoji}` }, on: { click: () => pick(emoji) } }, emoji),
      ),
    ),
  )
  return el('div', { class: 'reactions', attrs: { role: 'group', 'aria-label': `Reactions to ${about}` } }, ...chips, picker)
}
