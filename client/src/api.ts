import type { CallOptions, Http } from './http.js'
import type {
  Block,
  ConversationSummary,
  InboxPage,
  MemberPage,
  Message,
  NewConversation,
  NewUserFields,
  ReadMarker,
  Readiness,
  SearchPage,
  Session,
  Tokens,
  User,
  UserChanges,
  UserPage,
} from './types.js'

/** A reply that says it worked and where the thing is: a conversation or a message. */
export interface Located {
  status: string
  url: string
}

/** What the server answers when something was done: created (201) or already so (200). */
export interface Outcome {
  /** False when it was already so (a member already added, a user already blocked). */
  created: boolean
}

/** A message's place, from its url: `/api/conversations/12/5` is conversation 12, seq 5. */
export function seqOf(url: string): number {
  return Number(url.slice(url.lastIndexOf('/') + 1))
}

/** A conversation's id, from its url or a message's. */
export function conversationIdOf(url: string): number {
  return Number(/\/api\/conversations\/(\d+)/.exec(url)?.[1])
}

const path = (...parts: (string | number)[]) => parts.map((part) => encodeURIComponent(String(part))).join('/')
const conversation = (id: number) => `/api/conversations/${path(id)}`

/**
 * Every route of docs/api.md as a typed call. Replies have the server's own types; a status that is
 * not 2xx rejects with ApiError, which has the status and the body. Sign-in routes are on ChatClient,
 * which keeps the credential they make.
 */
export class Api {
  constructor(private readonly http: Http) {}

  // The signed-in user.

  me(options?: CallOptions): Promise<User> {
    return this.http.request({ method: 'GET', path: '/api/me', ...options })
  }

  setDisplayName(displayName: string | null, options?: CallOptions): Promise<User> {
    return this.http.request({ method: 'PATCH', path: '/api/me', body: { displayName }, ...options })
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

  /** The newest messages, or a page before or after a seq. Messages are oldest first; each one's seq ends its url. */
  messages(conversationId: number, page: { limit?: number; before?: number; after?: number } = {}, options?: CallOptions): Promise<Message[]> {
    return this.http
      .request<{ messages: Message[] }>({ method: 'GET', path: conversation(conversationId), query: page, ...options })
      .then((r) => r.messages)
  }

  message(conversationId: number, seq: number, options?: CallOptions): Promise<Message> {
    return this.http.request({ method: 'GET', path: `${conversation(conversationId)}/${path(seq)}`, ...options })
  }

  /**
   * Posts a message over REST. With an idempotency key (one is made when none is given) the post is
   * safe to retry, and it is retried after no answer, 429 or 5xx: it is stored once whatever happened.
   * Resolves to the new message's seq. (ChatClient.send posts over the socket.)
   */
  async postMessage(conversationId: number, text: string, options: CallOptions & { idempotencyKey?: string } = {}): Promise<number> {
    const { idempotencyKey, ...call } = options
    const headers = idempotencyKey ? { 'idempotency-key': idempotencyKey } : undefined
    const reply = await this.http.request<Located>({
      method: 'POST',
      path: conversation(conversationId),
      body: { text },
      ...(headers ? { headers } : {}),
      repeatable: headers !== undefined,
      ...call,
    })
    return seqOf(reply.url)
  }

  editMessage(conversationId: number, seq: number, text: string, options?: CallOptions): Promise<Message> {
    return this.http.request({ method: 'PATCH', path: `${conversation(conversationId)}/${path(seq)}`, body: { text }, ...options })
  }

  deleteMessage(conversationId: number, seq: number, options?: CallOptions): Promise<void> {
    return this.status({ method: 'DELETE', path: `${conversation(conversationId)}/${path(seq)}`, ...options })
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

  // Administration (admins only).

  createUser(fields: NewUserFields, options?: CallOptions): Promise<User> {
    return this.http.request({ method: 'POST', path: '/admin/users', body: fields, ...options })
  }

  users(page: { after?: string; limit?: number } = {}, options?: CallOptions): Promise<UserPage> {
    return this.http.request({ method: 'GET', path: '/admin/users', query: page, ...options })
  }

  user(userId: number, options?: CallOptions): Promise<User> {
    return this.http.request({ method: 'GET', path: `/admin/users/${path(userId)}`, ...options })
  }

  updateUser(userId: number, changes: UserChanges, options?: CallOptions): Promise<User> {
    return this.http.request({ method: 'PATCH', path: `/admin/users/${path(userId)}`, body: changes, ...options })
  }

  deleteUser(userId: number, options?: CallOptions): Promise<void> {
    return this.status({ method: 'DELETE', path: `/admin/users/${path(userId)}`, ...options })
  }

  // Health.

  health(options?: CallOptions): Promise<{ status: string }> {
    return this.http.request({ method: 'GET', path: '/healthz', anonymous: true, ...options })
  }

  readiness(options?: CallOptions): Promise<Readiness> {
    return this.http.request({ method: 'GET', path: '/readyz', anonymous: true, retries: 0, ...options })
  }

  /** The public signing keys (JWKS), to check access tokens elsewhere. */
  signingKeys(options?: CallOptions): Promise<{ keys: Record<string, string>[] }> {
    return this.http.request({ method: 'GET', path: '/.well-known/jwks.json', anonymous: true, ...options })
  }

  private async status(spec: Parameters<Http['request']>[0]): Promise<void> {
    await this.http.request(spec)
  }

  private outcome(spec: Parameters<Http['request']>[0]): Promise<Outcome> {
    let created = false
    return this.http.request({ ...spec, onStatus: (status) => (created = status === 201) }).then(() => ({ created }))
  }
}
