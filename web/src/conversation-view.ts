import { type ChatClient, type ConversationMessage, ConversationState, type InboxState } from '@chat-cluster/client'
import { Composer } from './composer.js'
import { byId, el, syncChildren } from './dom.js'
import { InviteButton } from './invites.js'
import { type MessageLook, drawMessage } from './message-item.js'
import { announce, explain } from './status.js'

export interface ConversationContext {
  client: ChatClient
  inbox: InboxState
  /** Whether the signed-in user has blocked this user: their messages are hidden. */
  isBlocked(username: string): boolean
}

/** How close to an edge of the list counts as being there, in pixels. */
const EDGE_PX = 48

/**
 * The open conversation: its messages, paged back as the list scrolls up; the user's own messages
 * with edit and delete; who is typing; in a direct conversation, the other user's receipt. It opens
 * at "New messages", where the unread ones start, and as the user reads on, the read marker follows
 * what has been on screen (markRead), on every device of theirs.
 */
export class ConversationView {
  private readonly state: ConversationState
  private readonly listening = new AbortController()
  private readonly composer: Composer
  private readonly invite: InviteButton
  private readonly modes = new Map<number, MessageLook['mode']>()
  private readonly pickersOpen = new Set<number>()
  private readonly scroller = byId('message-scroller', HTMLDivElement)
  private readonly list = byId('messages', HTMLOListElement)
  private readonly olderButton = byId('load-older', HTMLButtonElement)
  /** Shows the read marker what has been on screen. */
  private readonly seen: IntersectionObserver
  private seenUpTo = 0
  private seenOthersUpTo = 0
  /** Whether the list has been put where reading starts: nothing is read before. */
  private placed = false
  /** How far this view has moved the marker (the notice that says so may still be on its way). */
  private markedUpTo = 0
  private marking = false
  private loadingOlder = false
  private readonly stops: (() => void)[]

  constructor(
    private readonly context: ConversationContext,
    readonly conversationId: number,
    private readonly fallbackTitle: string,
  ) {
    const { signal } = this.listening
    this.state = new ConversationState(context.client, conversationId)
    this.composer = new Composer(context.client, conversationId, signal)
    this.invite = new InviteButton(context.client, conversationId, signal)
    this.seen = new IntersectionObserver((entries) => this.onSeen(entries), { root: this.scroller, threshold: [0, 0.25, 0.5, 0.75, 1] })
    this.stops = [this.state.onChange(() => this.render()), context.inbox.onChange(() => this.render())]
    this.scroller.addEventListener('scroll', () => this.scroller.scrollTop < EDGE_PX && void this.loadOlder(), { signal, passive: true })
    this.olderButton.addEventListener('click', () => void this.loadOlder(), { signal })
    document.addEventListener('visibilitychange', () => this.markRead(), { signal })
  }

  async open(): Promise<void> {
    this.list.replaceChildren()
    byId('conversation-placeholder', HTMLParagraphElement).hidden = true
    byId('conversation-body', HTMLDivElement).hidden = false
    this.render()
    try {
      await this.state.open()
    } catch (err) {
      this.composer.disable(explain(err, { 404: 'This conversation does not exist, or you cannot see it.' }))
      return
    }
    this.composer.focus()
  }

  /** Shows the message `seq`, reading older pages until it is there, and moves focus to it; says so when it is gone. */
  async reveal(seq: number): Promise<void> {
    try {
      while (!this.state.messages.some((m) => m.seq === seq) && this.state.hasOlder && !this.listening.signal.aborted) {
        await this.state.loadOlder()
        this.render()
      }
    } catch (err) {
      announce(`Older messages could not be loaded: ${explain(err)}`)
      return
    }
    const item = this.list.querySelector<HTMLElement>(`[data-seq="${seq}"]`)
    if (!item) return announce('That message is no longer there: it was deleted.')
    for (const found of this.list.querySelectorAll('.found')) found.classList.remove('found')
    item.classList.add('found')
    item.tabIndex = -1
    item.scrollIntoView({ block: 'center' })
    item.focus({ preventScroll: true })
  }

  dispose(): void {
    this.listening.abort()
    for (const stop of this.stops) stop()
    this.seen.disconnect()
    this.state.close()
    this.list.replaceChildren()
    byId('typing', HTMLParagraphElement).textContent = ''
    byId('conversation-body', HTMLDivElement).hidden = true
    byId('conversation-placeholder', HTMLParagraphElement).hidden = false
    byId('conversation-title', HTMLHeadingElement).textContent = 'No conversation open'
    byId('conversation-about', HTMLParagraphElement).textContent = ''
  }

  /** Draws the conversation as the state now is; a list at the bottom stays there as messages come. */
  render(): void {
    const entry = this.context.inbox.entry(this.conversationId)
    byId('conversation-title', HTMLHeadingElement).textContent = entry?.title ?? this.fallbackTitle
    byId('conversation-about', HTMLParagraphElement).textContent = this.about()
    void this.invite.update(entry?.kind)
    const typing = this.state.typingUsers
    byId('typing', HTMLParagraphElement).textContent =
      typing.length === 0 ? '' : `${typing.join(', ')} ${typing.length === 1 ? 'is' : 'are'} typing…`
    this.olderButton.hidden = !this.state.hasOlder || this.state.messages.length === 0
    if (this.state.ended) this.composer.disable(this.state.ended)

    const height = this.scroller.scrollHeight
    const atBottom = this.scroller.scrollTop + this.scroller.clientHeight >= height - EDGE_PX
    const me = this.context.client.user
    const seenSeq = this.lastSeenOwnSeq()
    const firstUnread = entry && this.state.messages.find((m) => m.seq > entry.readSeq && m.user !== me)
    const items: (ConversationMessage | 'marker')[] = []
    for (const message of this.state.messages) {
      if (message === firstUnread) items.push('marker')
      items.push(message)
    }
    syncChildren(this.list, items, {
      key: (item) => (item === 'marker' ? 'marker' : String(item.seq)),
      version: (item) => (item === 'marker' ? 'marker' : JSON.stringify([item.text, item.edited, item.replyTo, item.reactions, this.lookOf(item, me, seenSeq)])),
      draw: (item) => {
        if (item === 'marker') return el('li', { class: 'unread-marker' }, el('span', {}, 'New messages'))
        const drawn = drawMessage(item, this.lookOf(item, me, seenSeq), {
          setMode: (seq, mode) => this.setMode(seq, mode),
          save: (seq, text) => this.save(seq, text),
          remove: (seq) => void this.remove(seq),
          reply: (message) => this.composer.replyTo(message),
          toggleReaction: (seq, emoji) => void this.react(this.state.toggleReaction(seq, emoji)),
          addReaction: (seq, emoji) => void this.react(this.context.client.api.react(this.conversationId, seq, emoji)),
          pickersOpen: this.pickersOpen,
        })
        // The element it replaces, if any, is still in the list: it is watched no more.
        const previous = this.list.querySelector(`[data-seq="${item.seq}"]`)
        if (previous) this.seen.unobserve(previous)
        this.seen.observe(drawn)
        return drawn
      },
    })
    if (!this.placed) this.place()
    // Only what was added moves the list: a user scrolling away from the bottom is left alone.
    else if (atBottom && this.scroller.scrollHeight !== height) this.scroller.scrollTop = this.scroller.scrollHeight
    this.markRead()
  }

  /** Once the first page is in: at the first unread message if there is one, at the newest otherwise. */
  private place(): void {
    if (!this.state.loaded) return
    this.placed = true
    const marker = this.list.querySelector('.unread-marker')
    if (marker) marker.scrollIntoView({ block: 'start' })
    else this.scroller.scrollTop = this.scroller.scrollHeight
  }

  private lookOf(message: ConversationMessage, me: string | null | undefined, seenSeq: number | undefined): MessageLook {
    const mode = this.modes.get(message.seq) ?? 'reading'
    return { mine: message.user === me, blocked: this.context.isBlocked(message.user), seen: message.seq === seenSeq, mode, me: me ?? null }
  }

  private about(): string {
    const entry = this.context.inbox.entry(this.conversationId)
    if (!entry) return `Conversation number ${this.conversationId}: not in your inbox`
    if (entry.user) return `Direct conversation with ${entry.user.username}, who is ${entry.user.online ? 'online' : 'offline'}`
    return `${entry.kind[0]?.toUpperCase()}${entry.kind.slice(1)} conversation, number ${this.conversationId}`
  }

  /** In a direct conversation: the newest of the user's messages that the other user has read. */
  private lastSeenOwnSeq(): number | undefined {
    const receipt = this.state.receiptSeq
    if (receipt === undefined) return undefined
    const me = this.context.client.user
    return [...this.state.messages].reverse().find((m) => m.user === me && m.seq <= receipt)?.seq
  }

  private setMode(seq: number, mode: MessageLook['mode']): void {
    if (mode === 'reading') this.modes.delete(seq)
    else this.modes.set(seq, mode)
    this.render()
    const item = this.list.querySelector(`[data-seq="${seq}"]`)
    const target = mode === 'editing' ? item?.querySelector('textarea') : item?.querySelector('button')
    if (target instanceof HTMLElement) target.focus()
  }

  /** Resolves with why the edit was refused, or undefined when it was saved. */
  private async save(seq: number, text: string): Promise<string | undefined> {
    try {
      await this.context.client.api.editMessage(this.conversationId, seq, text)
    } catch (err) {
      return explain(err, { 403: 'You can edit only your own messages, while you may post here.', 404: 'That message was deleted.' })
    }
    this.setMode(seq, 'reading')
    announce('Message edited.')
    return undefined
  }

  private async remove(seq: number): Promise<void> {
    try {
      await this.context.client.api.deleteMessage(this.conversationId, seq)
      this.modes.delete(seq)
      announce('Message deleted.')
      this.composer.focus()
    } catch (err) {
      this.setMode(seq, 'reading')
      announce(`Not deleted: ${explain(err, { 404: 'it was deleted already.' })}`)
    }
  }

  /** A reaction added or taken back: the chips change when its event comes; a refusal is said. */
  private async react(change: Promise<unknown>): Promise<void> {
    try {
      await change
    } catch (err) {
      announce(`No reaction: ${explain(err, { 403: 'you may not react here.', 404: 'that message was deleted.' })}`)
    }
  }

  private async loadOlder(): Promise<void> {
    if (this.loadingOlder || !this.state.hasOlder || this.state.messages.length === 0) return
    this.loadingOlder = true
    // Keep the messages on screen where they are while older ones are added above them.
    const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop
    try {
      await this.state.loadOlder()
      this.render()
      this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom
    } catch (err) {
      announce(`Older messages could not be loaded: ${explain(err)}`)
    } finally {
      this.loadingOlder = false
    }
  }

  /** A message is read when half of it is on screen, or it fills half the screen (a long one). */
  private onSeen(entries: IntersectionObserverEntry[]): void {
    for (const { intersectionRatio, intersectionRect, rootBounds, target } of entries) {
      const read = intersectionRatio >= 0.5 || intersectionRect.height >= (rootBounds?.height ?? Infinity) / 2
      if (!read || !(target instanceof HTMLElement)) continue
      const seq = Number(target.dataset.seq)
      this.seenUpTo = Math.max(this.seenUpTo, seq)
      if (target.dataset.mine === undefined) this.seenOthersUpTo = Math.max(this.seenOthersUpTo, seq)
    }
    this.markRead()
  }

  /**
   * Moves the read marker up to what has been on screen, once messages of others past it have been.
   * Only members have a marker: a conversation outside the inbox has none.
   */
  private markRead(): void {
    const entry = this.context.inbox.entry(this.conversationId)
    if (!entry || !this.placed || this.marking || document.visibilityState !== 'visible') return
    if (this.seenOthersUpTo <= Math.max(entry.readSeq, this.markedUpTo)) return
    const upTo = this.seenUpTo
    this.marking = true
    this.context.client.markRead(this.conversationId, upTo).then(
      () => {
        this.marking = false
        this.markedUpTo = upTo
        if (!this.listening.signal.aborted) this.markRead()
      },
      // Tried again with the next change drawn.
      () => (this.marking = false),
    )
  }
}
