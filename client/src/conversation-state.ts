import { quoteOf } from '../../src/protocol/quotes.js'
import { seqOf } from './server-calls.js'
import type { ChatClient } from './chat-client.js'
import { applyReaction } from './reactions.js'
import { ChangeListeners, Following } from './state-parts.js'
import type { ChatEvent, Message, Reaction, ReactionChange, ReplyQuote } from './types.js'

/** A message as a conversation view shows it: the REST shape, its reactions (`me` for the signed-in user) and its seq. */
export interface ConversationMessage extends Message {
  reactions: Reaction[]
  seq: number
}

export interface ConversationOptions {
  /** Messages per page read (1 to 100, default 30). */
  pageSize?: number
}

/**
 * One conversation as a view shows it: its messages by seq (the newest page, and older ones as the
 * view scrolls back), kept up to date from its events; who is typing; and, in a direct conversation,
 * how far the other user has read (from the receipts that arrive while it is open: the API has no
 * read of the other user's marker).
 */
export class ConversationState {
  private readonly bySeq = new Map<number, ConversationMessage>()
  private readonly typing = new Map<string, ReturnType<typeof setTimeout>>()
  private readonly changes = new ChangeListeners()
  private readonly following: Following
  private readonly off: (() => void)[]
  private readonly pageSize: number
  private sorted: ConversationMessage[] | undefined
  /** Events that arrive while the first page is read, applied on top of it. */
  private buffered: ChatEvent[] | undefined = []
  private opened = false
  private olderPage: Promise<void> | undefined
  /** Whether the newest page has been read (open() then goes on to subscribe). */
  loaded = false
  /** Whether messages older than the first one shown may exist. */
  hasOlder = true
  /** The other user's read marker, in a direct conversation, once a receipt has said it. */
  receiptSeq: number | undefined
  /** Why the conversation is no longer followed (the user was removed, or may not read it), if it is not. */
  ended: string | undefined

  constructor(
    private readonly client: ChatClient,
    readonly conversationId: number,
    options: ConversationOptions = {},
  ) {
    this.pageSize = options.pageSize ?? 30
    this.following = Following.of(client)
    const mine = (id: number) => id === conversationId
    this.off = [
      client.on('event', (event) => mine(event.conversationId) && (this.buffered ? this.buffered.push(event) : this.apply(event))),
      client.on('typing', (signal) => mine(signal.conversationId) && this.onTyping(signal.user, signal.expiresInMs)),
      client.on('receipt', ({ conversationId: id, user, seq }) => {
        if (!mine(id) || user === client.user || seq <= (this.receiptSeq ?? 0)) return
        this.receiptSeq = seq
        this.changed()
      }),
      client.on('unsubscribed', ({ conversationId: id }) => mine(id) && this.end('you are no longer a member of this conversation')),
      client.on('subscription.failed', ({ conversationId: id, error }) => mine(id) && this.end(error.message)),
    ]
  }

  /** The messages held, oldest first. */
  get messages(): readonly ConversationMessage[] {
    this.sorted ??= [...this.bySeq.values()].sort((a, b) => a.seq - b.seq)
    return this.sorted
  }

  /** Users typing now, in the order they started. */
  get typingUsers(): string[] {
    return [...this.typing.keys()]
  }

  onChange(listener: () => void): () => void {
    return this.changes.add(listener)
  }

  /**
   * Reads the newest page and follows the conversation from its newest seq. Rejects (ApiError 404)
   * when the conversation does not exist or the user may not read it.
   */
  async open(): Promise<void> {
    if (this.opened) return
    this.opened = true
    let newestSeq = 0
    try {
      const page = await this.client.api.messages(this.conversationId, { limit: this.pageSize })
      this.hasOlder = page.length === this.pageSize
      for (const message of page) this.put(message)
      newestSeq = this.messages.at(-1)?.seq ?? 0
      this.loaded = true
    } finally {
      const buffered = this.buffered ?? []
      this.buffered = undefined
      // Each event sets what it changes, so replaying ones the page already shows is harmless.
      for (const event of buffered) this.apply(event)
      this.changed()
    }
    if (this.ended === undefined) await this.following.follow(this.conversationId, newestSeq)
  }

  /** Reads the page before the oldest message held; a call while one is read shares it. */
  loadOlder(): Promise<void> {
    const first = this.messages[0]
    if (!this.hasOlder || !first) return Promise.resolve()
    this.olderPage ??= this.client.api
      .messages(this.conversationId, { before: first.seq, limit: this.pageSize })
      .then((page) => {
        this.hasOlder = page.length === this.pageSize
        for (const message of page) if (!this.bySeq.has(seqOf(message.url))) this.put(message)
        this.changed()
      })
      .finally(() => (this.olderPage = undefined))
    return this.olderPage
  }

  /**
   * Adds the user's reaction with `emoji` to a message, or takes it back if the message shows it as
   * theirs. The state changes when the event comes, as it does for every other device.
   */
  toggleReaction(seq: number, emoji: string): Promise<ReactionChange> {
    const mine = this.bySeq.get(seq)?.reactions.some((r) => r.emoji === emoji && r.me)
    return mine ? this.client.api.unreact(this.conversationId, seq, emoji) : this.client.api.react(this.conversationId, seq, emoji)
  }

  /** Stops following and listening. */
  close(): void {
    for (const off of this.off.splice(0)) off()
    for (const timer of this.typing.values()) clearTimeout(timer)
    this.typing.clear()
    if (this.opened && this.ended === undefined) this.following.unfollow(this.conversationId)
    this.ended ??= 'closed'
  }

  private apply(event: ChatEvent): void {
    switch (event.type) {
      case 'message.created': {
        const { deleted, ...message } = event.message
        if (deleted) this.bySeq.delete(event.seq)
        else this.put(message)
        this.stopTyping(message.user)
        break
      }
      case 'message.edited': {
        const message = this.bySeq.get(event.messageSeq)
        if (message) this.bySeq.set(event.messageSeq, { ...message, text: event.text, edited: event.edited })
        this.requote(event.messageSeq, { text: quoteOf(event.text) })
        break
      }
      case 'message.deleted':
        this.bySeq.delete(event.messageSeq)
        this.requote(event.messageSeq, { text: '', deleted: true })
        break
      case 'reaction.added':
      case 'reaction.removed': {
        const message = this.bySeq.get(event.messageSeq)
        if (message) this.bySeq.set(event.messageSeq, { ...message, reactions: applyReaction(message.reactions, event, this.client.user) })
        break
      }
      default:
        return
    }
    this.changed()
  }

  /** The replies held to message `seq` quote it as it now is (a view read later would). */
  private requote(seq: number, quote: Pick<ReplyQuote, 'text' | 'deleted'>): void {
    for (const message of this.bySeq.values())
      if (message.replyTo?.seq === seq) this.bySeq.set(message.seq, { ...message, replyTo: { ...message.replyTo, ...quote } })
  }

  /** A message from a page read (with its reactions) or an event (a new message has none). */
  private put(message: Message & { reactions?: Reaction[] }): void {
    this.bySeq.set(seqOf(message.url), { ...message, reactions: message.reactions ?? [], seq: seqOf(message.url) })
  }

  private onTyping(user: string, expiresInMs: number): void {
    clearTimeout(this.typing.get(user))
    this.typing.set(
      user,
      setTimeout(() => this.stopTyping(user), expiresInMs),
    )
    this.changed()
  }

  private stopTyping(user: string): void {
    const timer = this.typing.get(user)
    if (timer === undefined) return
    clearTimeout(timer)
    this.typing.delete(user)
    this.changed()
  }

  private end(reason: string): void {
    this.ended = reason
    this.changed()
  }

  private changed(): void {
    this.sorted = undefined
    this.changes.changed()
  }
}
