import { TYPING_INTERVAL_MS } from '../../src/protocol/limits.js'
import { Api } from './api.js'
import { DEFAULT_BACKOFF } from './backoff.js'
import { type Clock, systemClock } from './clock.js'
import { Connection } from './connection.js'
import { Credentials, type TokenState } from './credentials.js'
import { Emitter } from './emitter.js'
import { Endpoints, pageOrigin } from './endpoints.js'
import { ClosedError, NotLoggedInError } from './errors.js'
import { untilWelcomed } from './welcome.js'
import { Http } from './http.js'
import { newClientId } from './ids.js'
import { CONNECTION_DEFAULTS, type ChatClientOptions, DEFAULTS } from './options.js'
import { Outbox } from './outbox.js'
import { ReadMarkers } from './read-markers.js'
import { type ProfileFields, SignIn } from './sign-in.js'
import { globalWebSocket } from './socket.js'
import { Subscriptions } from './subscriptions.js'
import type { ChatEvent, ClientEvents, ConnectionState, IncomingFrame, ReadMarker, SentMessage } from './types.js'

/**
 * A client of chat-cluster: typed REST calls (`api`), signing in and out, and one socket that
 * resumes every followed conversation after each reconnect, to any node, so that each event arrives
 * once and in order (docs/protocol.md), and an outbox that sends each message exactly once.
 */
export class ChatClient extends Emitter<ClientEvents> {
  readonly api: Api
  private readonly signIn: SignIn
  private readonly endpoints: Endpoints
  private readonly credentials: Credentials
  private readonly http: Http
  private readonly connection: Connection
  private readonly subscriptions: Subscriptions
  private readonly outbox: Outbox
  private readonly readMarkers: ReadMarkers
  private readonly clock: Clock
  private currentUser: string | null | undefined
  private connectionState: ConnectionState = 'idle'
  private connectedBefore = false
  private readonly typingSentAt = new Map<number, number>()
  /** Contacts' presence as the last `presence` notice told it. */
  private readonly presence = new Map<string, boolean>()
  private closed = false

  constructor(options: ChatClientOptions = {}) {
    super()
    const clock = (this.clock = options.clock ?? systemClock)
    const random = options.random ?? Math.random
    const backoff = options.backoff ?? DEFAULT_BACKOFF
    const urls = options.urls ?? [pageOrigin()]
    this.endpoints = new Endpoints(urls, options.firstUrl ?? Math.floor(random() * urls.length))
    this.credentials = new Credentials(options.auth ?? 'cookie', clock, (refreshToken) => this.signIn.exchange(refreshToken), options.cookie)
    if (options.tokens) this.credentials.setTokens(options.tokens)
    this.http = new Http({
      endpoints: this.endpoints,
      credentials: this.credentials,
      fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
      clock,
      random,
      backoff,
      timeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      onUnauthorised: () => this.sessionEnded('a request was refused: the session ended'),
      onRetry: (path, reason) => this.emit('diagnostic', { type: 'request-retry', path, reason }),
    })
    this.api = new Api(this.http)
    this.signIn = new SignIn(this.http, this.credentials)
    const send = (frame: object) => this.connection.send(frame)
    const diagnostic = (event: ClientEvents['diagnostic']) => this.emit('diagnostic', event)
    this.subscriptions = new Subscriptions({
      send,
      deliver: (event) => this.deliver(event),
      removed: (conversationId) => this.emit('unsubscribed', { conversationId, reason: 'removed' }),
      failed: (conversationId, error) => this.emit('subscription.failed', { conversationId, error }),
      diagnostic,
      clock,
      random,
      backoff,
    })
    this.outbox = new Outbox(
      { send, dropSocket: (reason) => this.connection.drop(reason), diagnostic, clock, random, backoff },
      { limit: options.outboxLimit ?? DEFAULTS.outboxLimit, ackTimeoutMs: options.ackTimeoutMs ?? DEFAULTS.ackTimeoutMs },
    )
    const replyTimeoutMs = options.ackTimeoutMs ?? DEFAULTS.ackTimeoutMs
    this.readMarkers = new ReadMarkers({ send: (frame) => !!this.currentUser && send(frame), rest: (id, seq) => this.api.markRead(id, seq), clock, replyTimeoutMs })
    this.connection = new Connection({
      ...CONNECTION_DEFAULTS,
      ...options.connection,
      backoff,
      endpoints: this.endpoints,
      credentials: this.credentials,
      createWebSocket: options.createWebSocket ?? globalWebSocket,
      clock,
      random,
      onWelcome: (user) => this.welcomed(user),
      onFrame: (frame) => this.onFrame(frame),
      onLost: (code, reason) => {
        this.subscriptions.pauseAll()
        this.outbox.socketLost()
        this.readMarkers.socketLost()
        this.emit('diagnostic', { type: 'close', code, reason })
      },
      onSessionEnded: (reason) => this.sessionEnded(reason),
      onLoginRequired: () => this.outbox.failAll(new NotLoggedInError('the socket is not logged in')),
      onState: (state, code) => {
        this.connectionState = state
        this.emit('state', code === undefined ? { state } : { state, code })
      },
    })
  }

  // Signing in and out.

  /** Registers a user and signs in as them (a password and a profile are optional: docs/api.md). */
  async register(username: string, password?: string, profile?: ProfileFields): Promise<void> {
    await this.signIn.register(username, password, profile)
    this.currentUser = undefined
  }

  async login(username: string, password: string): Promise<void> {
    await this.signIn.login(username, password)
    this.currentUser = undefined
  }

  /** Signs in with a JWT from the trusted issuer (POST /auth/external). */
  async loginExternal(token: string): Promise<void> {
    await this.signIn.loginExternal(token)
    this.currentUser = undefined
  }

  /** Ends this session everywhere (its sockets on every node close), and closes the socket. */
  async logout(): Promise<void> {
    // The socket goes first: the 4001 that the logout makes the node send it is no session ended elsewhere.
    this.connection.stop()
    try {
      await this.signIn.logout()
    } finally {
      this.forgetSession(new NotLoggedInError('logged out'))
    }
  }

  /** The tokens in use, to keep for the next run (tokens mode). */
  get tokens(): TokenState | undefined {
    return this.credentials.current
  }

  /** Who the socket is logged in as: a name, null for nobody, undefined before the first welcome. */
  get user(): string | null | undefined {
    return this.currentUser
  }

  // The socket.

  get state(): ConnectionState {
    return this.connectionState
  }

  /** Opens the socket (and keeps it open, reconnecting as needed). Resolves once it is welcomed. */
  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError())
    const welcomed = this.connection.isOpen ? Promise.resolve() : untilWelcomed(this)
    this.connection.start()
    return welcomed
  }

  /** Closes the socket; subscriptions and unsent messages are kept for the next connect(). */
  disconnect(): void {
    this.connection.stop()
  }

  /** Closes the socket for good, fails what is pending and ends every stream. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.connection.stop()
    this.credentials.clear()
    const error = new ClosedError()
    this.outbox.failAll(error)
    this.subscriptions.clear(error)
    this.endStreams()
  }

  /**
   * Follows a conversation: every event after `afterSeq`, or from now when it is not given, arrives
   * once and in order, across reconnects. Resolves with the last seq when it is live.
   */
  subscribe(conversationId: number, options: { afterSeq?: number } = {}): Promise<number> {
    if (this.closed) return Promise.reject(new ClosedError())
    return this.subscriptions.add(conversationId, options.afterSeq)
  }

  unsubscribe(conversationId: number): void {
    this.subscriptions.remove(conversationId)
  }

  /** The last seq delivered in a followed conversation. */
  lastSeq(conversationId: number): number | undefined {
    return this.subscriptions.lastSeq(conversationId)
  }

  isLive(conversationId: number): boolean {
    return this.subscriptions.isLive(conversationId)
  }

  /** Conversations followed. */
  get subscribed(): number[] {
    return this.subscriptions.conversationIds
  }

  /**
   * Posts a message over the socket, exactly once: it waits in the outbox across reconnects, is sent again with the same
   * id until acknowledged, and resolves with the stored message. `id` is its idempotency key (one is made when none is
   * given); `replyTo`, the seq of the message it replies to. Rejects with OutboxFullError or, refused for good, FrameError.
   */
  send(conversationId: number, text: string, options: { id?: string; replyTo?: number } = {}): Promise<SentMessage> {
    if (this.closed) return Promise.reject(new ClosedError())
    if (this.currentUser === null) return Promise.reject(new NotLoggedInError())
    return this.outbox.push(options.id ?? newClientId('c'), conversationId, text, options.replyTo)
  }

  /** Ids of the sends not acknowledged yet, oldest first. */
  get unsent(): string[] {
    return this.outbox.pending
  }

  /**
   * Tells the conversation's other subscribers that the user is typing. Call it on every keystroke:
   * at most one frame per conversation per TYPING_INTERVAL_MS goes out, as the server relays no more.
   */
  typing(conversationId: number): void {
    if (!this.connection.isOpen || !this.currentUser || !this.subscriptions.isLive(conversationId)) return
    const now = this.clock.now()
    if (now - (this.typingSentAt.get(conversationId) ?? -Infinity) < TYPING_INTERVAL_MS) return
    this.typingSentAt.set(conversationId, now)
    this.connection.send({ type: 'typing', conversationId })
  }

  /**
   * Whether a contact (someone the user shares a direct conversation with) is online, as the
   * presence notices since this client connected tell; undefined before one did (the inbox has it).
   */
  isOnline(username: string): boolean | undefined {
    return this.presence.get(username)
  }

  /** Moves the read marker to `seq` (never back), with a `read` frame while the socket is open, else over REST; every device of the user gets a `read` notice. */
  markRead(conversationId: number, seq: number): Promise<ReadMarker> {
    return this.readMarkers.mark(conversationId, seq)
  }

  // What arrives.

  private welcomed(user: string | null): void {
    this.currentUser = user
    this.typingSentAt.clear()
    if (user === null) this.outbox.failAll(new NotLoggedInError('the socket is not logged in'))
    this.subscriptions.resumeAll()
    this.outbox.pump()
    this.emit('connected', { user, resumed: this.connectedBefore })
    this.connectedBefore = true
  }

  private onFrame(frame: IncomingFrame): void {
    if (frame.type === 'error') this.emit('diagnostic', { type: 'error-frame', code: frame.code, message: frame.message })
    if (this.subscriptions.handle(frame) || this.outbox.handle(frame) || this.readMarkers.handle(frame)) return
    if (frame.type === 'presence') this.presence.set(frame.user, frame.online)
    switch (frame.type) {
      case 'read':
      case 'mention':
      case 'receipt':
      case 'conversation.added':
      case 'conversation.removed':
      case 'conversation.hidden':
      case 'presence':
      case 'typing':
        return this.emit(frame.type, frame as never)
    }
  }

  private deliver(event: ChatEvent): void {
    this.emit('event', event)
    this.emit(event.type, event as never)
  }

  // The session.

  private sessionEnded(reason: string): void {
    if (this.currentUser === null) return
    this.forgetSession(new NotLoggedInError(reason))
    this.emit('session.ended', { reason })
  }

  private forgetSession(error: Error): void {
    this.currentUser = null
    this.credentials.clear()
    this.connection.stop()
    this.outbox.failAll(error)
    this.subscriptions.clear(error)
  }
}
