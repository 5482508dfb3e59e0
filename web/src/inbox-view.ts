import type { InboxEntry, InboxState } from '@chat-cluster/client'
import { byId, el, excerpt, spoken, syncChildren } from './dom.js'

/** Unread and mention counts stop at 1,000 on the server (docs/api.md): shown as 999+. */
const unreadLabel = (unread: number) => (unread >= 1000 ? '999+' : String(unread))

/**
 * The inbox: one button per conversation, newest activity first, with its unread and mention counts, its last
 * message and, for a direct conversation, whether the other user is online.
 */
export class InboxView {
  private readonly list = byId('inbox', HTMLUListElement)
  private readonly empty = byId('inbox-empty', HTMLParagraphElement)
  private readonly stop: () => void

  constructor(
    private readonly inbox: InboxState,
    private readonly options: { open(entry: InboxEntry): void; current(): number | undefined },
  ) {
    this.stop = inbox.onChange(() => this.render())
    this.render()
  }

  render(): void {
    const current = this.options.current()
    this.empty.hidden = this.inbox.entries.length > 0
    syncChildren(this.list, this.inbox.entries, {
      key: (entry) => String(entry.id),
      version: (entry) =>
        JSON.stringify([entry.title, entry.unread, entry.mentions, entry.lastMessage?.url, entry.lastMessage?.text, entry.user?.online, entry.id === current]),
      draw: (entry) => el('li', {}, this.button(entry, entry.id === current)),
    })
  }

  dispose(): void {
    this.stop()
    this.list.replaceChildren()
  }

  private button(entry: InboxEntry, current: boolean): HTMLButtonElement {
    const last = entry.lastMessage
    return el(
      'button',
      { class: 'entry', attrs: { type: 'button', 'aria-current': current ? 'true' : undefined }, on: { click: () => this.options.open(entry) } },
      // The spaces between the parts keep them apart in the button's accessible name.
      el('span', { class: 'entry-title' }, entry.title),
      ' ',
      entry.user && el('span', { class: `presence ${entry.user.online ? 'online' : 'offline'}` }, spoken(entry.user.online ? 'online' : 'offline')),
      ' ',
      entry.unread > 0 && el('span', { class: 'badge' }, unreadLabel(entry.unread), spoken(' unread')),
      ' ',
      entry.mentions > 0 && el('span', { class: 'badge mention-badge' }, `@${unreadLabel(entry.mentions)}`, spoken(entry.mentions === 1 ? ' mention' : ' mentions')),
      ' ',
      el('span', { class: 'entry-last' }, last ? `${last.user}: ${excerpt(last.text, 60)}` : 'No messages yet'),
    )
  }
}
