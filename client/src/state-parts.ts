import type { ChatClient } from './chat-client.js'

/** What InboxState and ConversationState (state.ts) share: their listeners' plumbing and the client's subscriptions. */

/** Listeners of a state object, told once per burst of changes (one events frame carries many). */
export class ChangeListeners {
  private readonly listeners = new Set<() => void>()
  private scheduled = false

  add(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  changed(): void {
    if (this.scheduled) return
    this.scheduled = true
    queueMicrotask(() => {
      this.scheduled = false
      for (const listener of [...this.listeners]) {
        try {
          listener()
        } catch (err) {
          // As the client's own emitter does: a listener that throws does not stop the others.
          queueMicrotask(() => {
            throw err
          })
        }
      }
    })
  }
}

const followingByClient = new WeakMap<ChatClient, Following>()

/**
 * The subscriptions that state objects share. The client keeps one subscription per conversation,
 * and subscribing again with another `afterSeq` would replay or skip events for every listener; so
 * the first holder says where to start, later ones join from where it stands, and the last one to
 * let go unsubscribes. A subscription made outside state objects counts as a holder that never does.
 */
export class Following {
  private readonly holders = new Map<number, number>()

  private constructor(private readonly client: ChatClient) {
    const forget = ({ conversationId }: { conversationId: number }) => this.holders.delete(conversationId)
    client.on('unsubscribed', forget)
    client.on('subscription.failed', forget)
  }

  static of(client: ChatClient): Following {
    let following = followingByClient.get(client)
    if (!following) followingByClient.set(client, (following = new Following(client)))
    return following
  }

  /** Follows a conversation from `afterSeq`, or from where the client stands if it follows it already. */
  follow(conversationId: number, afterSeq: number): Promise<number> {
    const held = this.holders.get(conversationId) ?? (this.client.subscribed.includes(conversationId) ? 1 : 0)
    this.holders.set(conversationId, held + 1)
    return this.client.subscribe(conversationId, held === 0 ? { afterSeq } : {})
  }

  unfollow(conversationId: number): void {
    const held = this.holders.get(conversationId)
    if (held === undefined) return
    if (held > 1) return void this.holders.set(conversationId, held - 1)
    this.holders.delete(conversationId)
    this.client.unsubscribe(conversationId)
  }
}
