import { seqOf } from './server-calls.js'
import type { ChatClient } from './chat-client.js'
import { ChangeListeners, Following } from './state-parts.js'
import type { ChatEvent, InboxItem, NoticeOf } from './types.js'

/**
 * State for a UI, kept up to date from a ChatClient's events, so that a screen only renders: the
 * inbox here, one conversation in conversation-state.ts. Both read a snapshot over REST and then
 * follow the conversations with a subscription that starts where the snapshot ended.
 */
export { ConversationState, type ConversationMessage, type ConversationOptions } from './conversation-state.js'

export interface InboxOptions {
  /** Conversations per page read (1 to 100, default 30). */
  pageSize?: number
  /** Pages read at most (default 4): conversations past them are neither listed nor followed. */
  maxPages?: number
}

/** An inbox entry, as GET /api/inbox gives it and as events since have changed it. */
export type InboxEntry = InboxItem

/**
 * The signed-in user's inbox (GET /api/inbox), newest activity first, kept up to date: the last
 * message, unread counts, read markers, presence, conversations added, removed and hidden. Notices
 * are not replayed after a reconnect, so each resumed connection reads the inbox again.
 */
export class InboxState {
  private readonly byId = new Map<number, InboxEntry>()
  /** Per conversation, messages by others seen live after the read marker: a delete of one is one unread fewer. */
  private readonly unreadSeen = new Map<number, Set<number>>()
  /** Per conversation, messages after the read marker that mention the user, as notices told: a delete of one is one mention fewer. */
  private readonly mentionsSeen = new Map<number, Set<number>>()
  /** Per conversation, the last seq the inbox read counted mentions to: a notice up to it is counted already. */
  private readonly mentionsCountedTo = new Map<number, number>()
  /** Conversations this inbox follows: its entries, and hidden ones, whose next message brings them back. */
  private readonly followed = new Set<number>()
  private readonly hidden = new Set<number>()
  private readonly changes = new ChangeListeners()
  private readonly following: Following
  private readonly off: (() => void)[]
  private readonly pageSize: number
  private readonly maxPages: number
  private sorted: InboxEntry[] | undefined
  /** Events that arrive while the inbox is read, applied on top of what was read. */
  private buffered: ChatEvent[] | undefined
  private reading: Promise<void> | undefined
  private readingNext: Promise<void> | undefined
  private closed = false

  constructor(
    private readonly client: ChatClient,
    options: InboxOptions = {},
  ) {
    this.pageSize = options.pageSize ?? 30
    this.maxPages = options.maxPages ?? 4
    this.following = Following.of(client)
    const reload = () => void this.load().catch(() => {})
    this.off = [
      client.on('event', (event) => (this.buffered ? this.buffered.push(event) : this.apply(event))),
      client.on('read', (notice) => this.onRead(notice)),
      client.on('mention', ({ conversationId, seq }) => this.onMention(conversationId, seq)),
      client.on('presence', ({ user, online }) => {
        for (const entry of this.byId.values()) if (entry.user?.username === user) this.update(entry, { user: { ...entry.user, online } })
      }),
      client.on('conversation.added', reload),
      client.on('conversation.removed', ({ conversationId }) => this.drop(conversationId, true)),
      client.on('conversation.hidden', ({ conversationId }) => {
        this.hidden.add(conversationId)
        this.drop(conversationId, false)
      }),
      client.on('unsubscribed', ({ conversationId }) => this.drop(conversationId, true)),
      client.on('subscription.failed', ({ conversationId }) => this.drop(conversationId, true)),
      client.on('connected', ({ resumed }) => resumed && reload()),
    ]
  }

  /** The entries, newest activity first. */
  get entries(): readonly InboxEntry[] {
    this.sorted ??= [...this.byId.values()].sort((a, b) => b.activity.localeCompare(a.activity) || b.id - a.id)
    return this.sorted
  }

  entry(conversationId: number): InboxEntry | undefined {
    return this.byId.get(conversationId)
  }

  /** Calls `listener` after each change; returns the function that stops it. */
  onChange(listener: () => void): () => void {
    return this.changes.add(listener)
  }

  /**
   * Reads the inbox and follows each conversation in it from the seq it was read at, so that
   * nothing between the read and the subscription is missed. Resolves once every one is live.
   * A call while a read is under way reads again after it. Call it once connect() has resolved:
   * the user's own messages, which are never unread, are told apart by `client.user`.
   */
  load(): Promise<void> {
    if (!this.reading) {
      this.reading = this.read().finally(() => (this.reading = undefined))
      return this.reading
    }
    this.readingNext ??= this.reading
      .catch(() => {})
      .then(() => {
        this.readingNext = undefined
        return this.load()
      })
    return this.readingNext
  }

  /** Stops following and listening. */
  close(): void {
    if (this.closed) return
    this.closed = true
    for (const off of this.off) off()
    for (const conversationId of this.followed) this.following.unfollow(conversationId)
    this.followed.clear()
  }

  private async read(): Promise<void> {
    this.buffered = []
    const items: InboxEntry[] = []
    try {
      let cursor: string | undefined
      for (let page = 0; page < this.maxPages; page++) {
        const reply = await this.client.api.inbox({ limit: this.pageSize, ...(cursor ? { cursor } : {}) })
        items.push(...reply.conversations)
        if (!reply.next) break
        cursor = reply.next
      }
      if (this.closed) return
      this.replace(items)
    } finally {
      const buffered = this.buffered
      this.buffered = undefined
      for (const event of buffered) this.apply(event)
    }
    const added = items.filter(({ id }) => !this.followed.has(id))
    for (const { id } of added) this.followed.add(id)
    await Promise.allSettled(added.map(({ id, lastSeq }) => this.following.follow(id, lastSeq)))
  }

  /** Takes a fresh read: an entry that events have taken past what was read is kept as it is. */
  private replace(items: InboxEntry[]): void {
    const current = new Map(this.byId)
    this.byId.clear()
    for (const item of items) {
      const known = current.get(item.id)
      const keep = known && known.lastSeq > item.lastSeq
      this.byId.set(item.id, keep ? known : { ...item })
      if (!keep) this.mentionsCountedTo.set(item.id, item.lastSeq)
      this.hidden.delete(item.id)
      this.forgetRead(item.id, item.readSeq)
    }
    for (const conversationId of [...this.followed]) {
      if (this.byId.has(conversationId) || this.hidden.has(conversationId)) continue
      this.followed.delete(conversationId)
      this.following.unfollow(conversationId)
    }
    this.changed()
  }

  private apply(event: ChatEvent): void {
    const entry = this.byId.get(event.conversationId)
    if (!entry) {
      // A hidden conversation comes back with its next message.
      if (event.type === 'message.created' && this.hidden.has(event.conversationId) && !event.message.deleted) void this.load().catch(() => {})
      return
    }
    // Events replayed for another state object's subscription are already counted.
    if (event.seq <= entry.lastSeq) return
    entry.lastSeq = event.seq
    switch (event.type) {
      case 'message.created': {
        if (event.message.deleted) break
        const { deleted: _, ...message } = event.message
        const unread = message.user !== this.client.user && event.seq > entry.readSeq
        if (unread) this.unreadOf(entry.id).add(event.seq)
        this.update(entry, { lastMessage: message, activity: message.timestamp, unread: entry.unread + (unread ? 1 : 0) })
        break
      }
      case 'message.edited':
        if (entry.lastMessage && seqOf(entry.lastMessage.url) === event.messageSeq) {
          this.update(entry, { lastMessage: { ...entry.lastMessage, text: event.text, edited: event.edited } })
        }
        break
      case 'message.deleted': {
        const wasUnread = this.unreadSeen.get(entry.id)?.delete(event.messageSeq) ?? false
        if (wasUnread) this.update(entry, { unread: Math.max(0, entry.unread - 1) })
        const wasMention = this.mentionsSeen.get(entry.id)?.delete(event.messageSeq) ?? false
        if (wasMention) this.update(entry, { mentions: Math.max(0, entry.mentions - 1) })
        if (entry.lastMessage && seqOf(entry.lastMessage.url) === event.messageSeq) void this.refreshLastMessage(entry.id, entry.lastMessage.url)
        break
      }
    }
  }

  /** The last message was deleted: the one before it is the last now. */
  private async refreshLastMessage(conversationId: number, deletedUrl: string): Promise<void> {
    const [latest] = await this.client.api.messages(conversationId, { limit: 1 }).catch(() => [])
    const entry = this.byId.get(conversationId)
    // Unless a newer message took its place meanwhile.
    if (entry?.lastMessage?.url === deletedUrl) this.update(entry, { lastMessage: latest ?? null })
  }

  /** The read marker moved on one of the user's devices. */
  private onRead({ conversationId, seq, unread, mentions }: NoticeOf<'read'>): void {
    const entry = this.byId.get(conversationId)
    if (!entry) return
    this.forgetRead(conversationId, seq)
    // The counts were made before messages that may have arrived here already: those are unread too.
    this.update(entry, {
      readSeq: Math.max(entry.readSeq, seq),
      unread: Math.max(unread, this.unreadSeen.get(conversationId)?.size ?? 0),
      mentions: Math.max(mentions, this.mentionsSeen.get(conversationId)?.size ?? 0),
    })
  }

  /** A message mentions the user: one more, unless read already, told already or counted by the inbox read. */
  private onMention(conversationId: number, seq: number): void {
    const entry = this.byId.get(conversationId)
    const seen = seqsOf(this.mentionsSeen, conversationId)
    if (!entry || seq <= entry.readSeq || seen.has(seq)) return
    seen.add(seq)
    if (seq > (this.mentionsCountedTo.get(conversationId) ?? 0)) this.update(entry, { mentions: entry.mentions + 1 })
  }

  private forgetRead(conversationId: number, readSeq: number): void {
    for (const seen of [this.unreadSeen.get(conversationId), this.mentionsSeen.get(conversationId)])
      if (seen) for (const seq of seen) if (seq <= readSeq) seen.delete(seq)
  }

  private unreadOf(conversationId: number): Set<number> {
    return seqsOf(this.unreadSeen, conversationId)
  }

  /** Takes a conversation out; `unfollow` when the user is no longer in it (hidden ones stay followed). */
  private drop(conversationId: number, unfollow: boolean): void {
    if (unfollow && this.followed.delete(conversationId)) {
      this.hidden.delete(conversationId)
      this.following.unfollow(conversationId)
    }
    this.unreadSeen.delete(conversationId)
    this.mentionsSeen.delete(conversationId)
    this.mentionsCountedTo.delete(conversationId)
    if (this.byId.delete(conversationId)) this.changed()
  }

  private update(entry: InboxEntry, changes: Partial<InboxEntry>): void {
    Object.assign(entry, changes)
    this.changed()
  }

  private changed(): void {
    this.sorted = undefined
    this.changes.changed()
  }
}

/** The set of seqs kept for a conversation, made on first use. */
function seqsOf(sets: Map<number, Set<number>>, conversationId: number): Set<number> {
  let seen = sets.get(conversationId)
  if (!seen) sets.set(conversationId, (seen = new Set()))
  return seen
}
