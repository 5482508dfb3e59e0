import type { CallOptions, Http } from './http.js'
import { type Located, type Outcome, ServerCalls, conversationIdOf, path, seqOf } from './server-calls.js'
import type {
  Block,
  ConversationSummary,
  InboxPage,
  Invite,
  InviteOptions,
  InvitePreview,
  MemberPage,
  MessageWithReactions,
  NewConversation,
  NewInvite,
  Profile,
  ProfileChanges,
  ReactionChange,
  ReadMarker,
  ReplyPage,
  SearchPage,
  Session,
  Tokens,
  User,
} from './types.js'

const conversation = (id: number) => `/api/conversations/${path(id)}`

/**
 * Every route of docs/api.md as a typed call. Replies have the server's own types; a status that is
 * not 2xx rejects with ApiError, which has the status and the body. Sign-in routes are on ChatClient,
 * which keeps the credential they make. The administration and health calls are in server-calls.ts.
 */
export class Api extends ServerCalls {
  // The signed-in user.

  me(options?: CallOptions): Promise<User> {
    return this.http.request({ method: 'GET', path: '/api/me', ...options })
  }

  setDisplayName(displayName: string | null, options?: CallOptions): Promise<User> {
    return this.updateProfile({ displayName }, options)
  }

  /** Sets the fields given (display name, first and last name, email, phone); null clears one. */
  updateProfile(changes: ProfileChanges, options?: CallOptions): Promise<User> {
    return this.http.request({ method: 'PATCH', path: '/api/me', body: changes, ...options })
  }

  /** A user's public profile: names, never email or phone. */
  profile(username: string, options?: CallOptions): Promise<Profile> {
    return this.http.request({ method: 'GET', path: `/api/users/${path(username)}`, ...options })
  }

  changePassword(password: string, currentPassword?: string, options?: CallOptions): Promise<void> {
    return this.status({ method: 'POST', path: '/auth/password', body: { password, currentPassword }, ...options })
  }

  sessions(options?: CallOptions): Promise<Session[]> {
    return this.http.request<{ sessions: Session[] }>({ method: 'GET', path: '/auth/sessions', ...options }).then((r) => r.sessions)
  }

  endSession(sessionId: number, options?: CallOptions): Promise<void> {
    return this.status({ method: 'DELETE', path: `/auth/sessions/${path(sessionId)}`, ...options })
  }

  /** Revokes the token family of a refresh token (RFC 7009: an unknown one is not an error). */
  revokeRefreshToken(refreshToken: string, options?: CallOptions): Promise<void> {
    return this.status({ method: 'DELETE', path: '/auth/token', body: { refresh_token: refreshToken }, anonymous: true, ...options })
  }

  /** Starts a token session with the credential in use (a cookie, say), for a device that needs tokens. */
  issueTokens(options?: CallOptions): Promise<Tokens> {
    return this.http.request({ method: 'POST', path: '/auth/token', body: null, ...options })
  }

  // Conversations and messages.

  conversations(options?: CallOptions): Promise<ConversationSummary[]> {
    return this.http
      .request<{ conversations: ConversationSummary[] }>({ method: 'GET', path: '/api/conversations', ...options })
      .then((r) => r.conversations)
  }

  /** Creates a conversation; resolves to its id. */
  async createConversation(fields: NewConversation, options?: CallOptions): Promise<number> {
    const reply = await this.http.request<Located>({ method: 'POST', path: '/api/conversations', body: fields, ...options })
    return conversationIdOf(reply.url)
  }

  /**
   * The newest messages, or a page before or after a seq. Messages are oldest first; each one's seq
   * ends its url; `reactions` says, for each emoji, how many reacted and whether the user is one.
   */
  messages(conversationId: number, page: { limit?: number; before?: number; after?: number } = {}, options?: CallOptions): Promise<MessageWithReactions[]> {
    return this.http
      .request<{ messages: MessageWithReactions[] }>({ method: 'GET', path: conversation(conversationId), query: page, ...options })
      .then((r) => r.messages)
  }

  message(conversationId: number, seq: number, options?: CallOptions): Promise<MessageWithReactions> {
    return this.http.request({ method: 'GET', path: `${conversation(conversationId)}/${path(seq)}`, ...options })
  }

  /**
   * Posts a message over REST. With an idempotency key (one is made when none is given) the post is
   * safe to retry, and it is retried after no answer, 429 or 5xx: it is stored once whatever happened.
   * Resolves to the new message's seq. (ChatClient.send posts over the socket.)
   */
  async postMessage(conversationId: number, text: string, options: CallOptions & { idempotencyKey?: string; replyTo?: number } = {}): Promise<number> {
    const { idempotencyKey, replyTo, ...call } = options
    const headers = idempotencyKey ? { 'idempotency-key': idempotencyKey } : undefined
    const reply = await this.http.request<Located>({
      method: 'POST',
      path: conversation(conversationId),
      body: replyTo === undefined ? { text } : { text, replyTo },
      ...(headers ? { headers } : {}),
      repeatable: headers !== undefined,
      ...call,
    })
    return seqOf(reply.url)
  }

  /** A page of the live replies to message `seq`, oldest first; pass `next` as `after` for the next (null at the end). */
  replies(conversationId: number, seq: number, page: { limit?: number; after?: string } = {}, options?: CallOptions): Promise<ReplyPage> {
    return this.http.request({ method: 'GET', path: `${conversation(conversationId)}/${path(seq)}/replies`, query: page, ...options })
  }

  editMessage(conversationId: number, seq: number, text: string, options?: CallOptions): Promise<MessageWithReactions> {
    return this.http.request({ method: 'PATCH', path: `${conversation(conversationId)}/${path(seq)}`, body: { text }, ...options })
  }

  deleteMessage(conversationId: number, seq: number, options?: CallOptions): Promise<void> {
    return this.status({ method: 'DELETE', path: `${conversation(conversationId)}/${path(seq)}`, ...options })
  }

  // Reactions.

  /**
   * Reacts to a message with one emoji (REACTIONS_PER_MESSAGE_MAX different ones per message at most).
   * Reacting so again changes nothing (`changed: false`); the reply has the message's reactions now.
   */
  react(conversationId: number, seq: number, emoji: string, options?: CallOptions): Promise<ReactionChange> {
    return this.reaction({ method: 'POST', path: `${conversation(conversationId)}/${path(seq)}/reactions`, body: { emoji }, ...options })
  }

  /** Takes back the user's reaction with `emoji`; without one, changes nothing (`changed: false`). */
  unreact(conversationId: number, seq: number, emoji: string, options?: CallOptions): Promise<ReactionChange> {
    return this.reaction({ method: 'DELETE', path: `${conversation(conversationId)}/${path(seq, 'reactions', emoji)}`, ...options })
  }

  // Members, read markers, delete chat.

  members(conversationId: number, page: { limit?: number; after?: string } = {}, options?: CallOptions): Promise<MemberPage> {
    return this.http.request({ method: 'GET', path: `${conversation(conversationId)}/members`, query: page, ...options })
  }

  addMember(conversationId: number, username: string, options?: CallOptions): Promise<Outcome> {
    return this.outcome({ method: 'POST', path: `${conversation(conversationId)}/members`, body: { username }, ...options })
  }

  removeMember(conversationId: number, username: string, options?: CallOptions): Promise<void> {
    return this.status({ method: 'DELETE', path: `${conversation(conversationId)}/members/${path(username)}`, ...options })
  }

  join(conversationId: number, options?: CallOptions): Promise<Outcome> {
    return this.outcome({ method: 'POST', path: `${conversation(conversationId)}/join`, ...options })
  }

  leave(conversationId: number, options?: CallOptions): Promise<void> {
    return this.status({ method: 'POST', path: `${conversation(conversationId)}/leave`, ...options })
  }

  /** Moves the read marker forward to `seq` (never back); resolves to the marker and unread count as they now are. */
  markRead(conversationId: number, seq: number, options?: CallOptions): Promise<ReadMarker> {
    return this.http.request({ method: 'POST', path: `${conversation(conversationId)}/read`, body: { seq }, ...options })
  }

  /** Takes the conversation out of the inbox, on every device, until its next message ("delete chat"). */
  hide(conversationId: number, options?: CallOptions): Promise<void> {
    return this.status({ method: 'POST', path: `${conversation(conversationId)}/hide`, ...options })
  }

  // Invite links.

  /** The owner makes an invite; the reply holds its token, shown this once. */
  createInvite(conversationId: number, invite: InviteOptions = {}, options?: CallOptions): Promise<NewInvite> {
    return this.http.request({ method: 'POST', path: `${conversation(conversationId)}/invites`, body: invite, ...options })
  }

  invites(conversationId: number, options?: CallOptions): Promise<Invite[]> {
    return this.http.request<{ invites: Invite[] }>({ method: 'GET', path: `${conversation(conversationId)}/invites`, ...options }).then((r) => r.invites)
  }

  revokeInvite(conversationId: number, inviteId: number, options?: CallOptions): Promise<void> {
    return this.status({ method: 'DELETE', path: `${conversation(conversationId)}/invites/${path(inviteId)}`, ...options })
  }

  /** What an invite shows anyone, signed in or not: the conversation's title and member count. */
  invitePreview(token: string, options?: CallOptions): Promise<InvitePreview> {
    return this.http.request({ method: 'GET', path: `/api/invites/${path(token)}`, anonymous: true, ...options })
  }

  /** Joins through an invite; resolves to the conversation and whether the user joined now (false: a member already). */
  async acceptInvite(token: string, options?: CallOptions): Promise<{ conversationId: number; created: boolean }> {
    let created = false
    const reply = await this.http.request<Located>({ method: 'POST', path: `/api/invites/${path(token)}`, onStatus: (status) => (created = status === 201), ...options })
    return { conversationId: conversationIdOf(reply.url), created }
  }

  // The inbox, direct conversations, blocks.

  inbox(page: { limit?: number; cursor?: string } = {}, options?: CallOptions): Promise<InboxPage> {
    return this.http.request({ method: 'GET', path: '/api/inbox', query: page, ...options })
  }

  /**
   * Messages the user may read that match `q` (words, "a phrase", or, -word: every other character is
   * text): in the conversations the user is a member of, or in one readable `conversation`; newest
   * first or by rank; each with the matched words' offsets in its text. Page on with `next`.
   */
  search(q: string, page: { conversation?: number; order?: 'newest' | 'rank'; limit?: number; cursor?: string } = {}, options?: CallOptions): Promise<SearchPage> {
    return this.http.request({ method: 'GET', path: '/api/search', query: { q, ...page }, ...options })
  }

  /** Finds or starts the direct conversation with a user; resolves to its id and whether it was started now. */
  async openDirect(username: string, options?: CallOptions): Promise<{ conversationId: number; created: boolean }> {
    let created = false
    const reply = await this.http.request<Located>({
      method: 'POST',
      path: `/api/direct/${path(username)}`,
      onStatus: (status) => (created = status === 201),
      ...options,
    })
    return { conversationId: conversationIdOf(reply.url), created }
  }

  /** The direct conversation with a user, or undefined when there is none. */
  async findDirect(username: string, options?: CallOptions): Promise<number | undefined> {
    try {
      const reply = await this.http.request<Located>({ method: 'GET', path: `/api/direct/${path(username)}`, ...options })
      return conversationIdOf(reply.url)
    } catch (err) {
      if ((err as { status?: number }).status === 404) return undefined
      throw err
    }
  }

  blocks(options?: CallOptions): Promise<Block[]> {
    return this.http.request<{ blocks: Block[] }>({ method: 'GET', path: '/api/blocks', ...options }).then((r) => r.blocks)
  }

  block(username: string, options?: CallOptions): Promise<Outcome> {
    return this.outcome({ method: 'POST', path: '/api/blocks', body: { username }, ...options })
  }

  unblock(username: string, options?: CallOptions): Promise<void> {
    return this.status({ method: 'DELETE', path: `/api/blocks/${path(username)}`, ...options })
  }

  private reaction(spec: Parameters<Http['request']>[0]): Promise<ReactionChange> {
    return this.http.request<ReactionChange & { status: string }>(spec).then(({ changed, reactions }) => ({ changed, reactions }))
  }
}
