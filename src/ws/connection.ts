import type { Logger } from '../logger.js'
import type { RawData, WebSocket } from 'ws'
import type { SessionUser } from '../auth/sessions.js'
import type { Messages } from '../chat/messages.js'
import type { Publisher } from '../chat/publisher.js'
import type { Subscriptions } from '../chat/subscriptions.js'
import { ChatError, RateLimited } from '../errors.js'
import type { Subscriber } from '../hub/sockets.js'
import { encodeFrame, parseClientFrame } from '../protocol/frames.js'
import type { ClientFrame, ErrorFrameCode, ServerFrame } from '../protocol/wire.js'
import {
  CloseCode,
  MAX_QUEUED_FRAMES,
  MAX_SUBSCRIPTIONS_PER_SOCKET,
  SUBSCRIBES_PER_SECOND,
  TYPING_EXPIRES_MS,
  TYPING_INTERVAL_MS,
} from '../protocol/limits.js'
import type { SessionBound } from './session-watch.js'

/** What the sockets report (metrics/ counts it): nothing per frame written, only closes and error answers. */
export interface SocketMeter {
  /** A socket closed, with the code its close handshake ended with (1006 when it was dropped). */
  closed(code: number): void
  /** A socket was closed as a slow consumer (4008). */
  slowConsumer(): void
  /** A socket's frame was answered with an error frame. */
  errorFrame(code: ErrorFrameCode): void
}

/** What a socket's frames reach. */
export interface ConnectionDeps {
  subscriptions: Subscriptions
  post: Messages['post']
  signal: Publisher['signal']
  /** Bytes a socket may have waiting to be written before it is closed as a slow consumer. */
  maxBufferedBytes: number
  meter: SocketMeter
  log: Logger
  /** The socket closed, with the code its close handshake ended with (1006 when it was dropped). */
  closed(connection: ClientConnection, code: number): void
}

/** How long a close frame may wait (behind a slow consumer's backlog, or for a client that broke the protocol to read it) before the socket is dropped. */
const SLOW_CLOSE_GRACE_MS = 1000

/** Where a frame queue starts: one settled promise for every socket. */
const SETTLED = Promise.resolve()

/** Each socket's connection, for the listeners every socket shares (see the constructor). */
const connections = new WeakMap<WebSocket, ClientConnection>()

/**
 * One socket, logged in or not: handles its frames in order, receives hub frames with backpressure,
 * and closes when its session ends. A socket that is not logged in may only watch public conversations.
 * The gateway registers it where it is known (the hub, presence, the session watch).
 */
export class ClientConnection implements Subscriber, SessionBound {
  private queue: Promise<void> = SETTLED
  private queued = 0
  /**
   * The conversations subscribed to where the user may post (and so type), as checked then, with
   * when each one's last typing frame was relayed. Made on first use: most sockets never need it.
   */
  private typedAt: Map<number, number> | undefined
  /** Bytes of backfill handed to the socket and not yet written out: the server's own, never held against the client. */
  private backfillBytes = 0
  /** Subscribe frames the socket may send now: a full subscription list at once, then SUBSCRIBES_PER_SECOND. */
  private subscribeBudget = MAX_SUBSCRIPTIONS_PER_SOCKET
  private subscribeBudgetAt = performance.now()

  constructor(
    private readonly socket: WebSocket,
    private readonly user: SessionUser | undefined,
    private readonly deps: ConnectionDeps,
  ) {
    // Listeners shared by every socket (an emitter calls them with itself as `this`), which find
    // their connection in a WeakMap: no closures per socket, whose memory an idle socket would keep.
    connections.set(socket, this)
    socket.on('message', ClientConnection.onMessage)
    socket.on('error', ClientConnection.onError)
    socket.on('close', ClientConnection.onClose)
    this.reply({ type: 'welcome', user: user?.username ?? null })
  }

  private static onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
    connections.get(this)?.enqueue(data, isBinary)
  }

  /**
   * A client that broke the protocol: ws has sent its close frame (1002, 1007 or 1009). Dropping
   * the connection at once would reset it under that frame and the client would see 1006, so it
   * gets a moment to read it. A connection that failed is dropped at once.
   */
  private static onError(this: WebSocket, err: Error & { code?: string }): void {
    connections.get(this)?.deps.log.info({ code: err.code, reason: err.message }, 'a WebSocket failed')
    if (err.code?.startsWith('WS_ERR_')) setTimeout(() => this.terminate(), SLOW_CLOSE_GRACE_MS).unref()
    else this.terminate()
  }

  private static onClose(this: WebSocket, code: number): void {
    const connection = connections.get(this)
    connection?.deps.closed(connection, code)
  }

  get userId(): number | undefined {
    return this.user?.userId
  }

  get sessionId(): number {
    return this.user?.sessionId ?? 0
  }

  endSession(): void {
    this.socket.close(CloseCode.sessionEnded, 'session ended')
  }

  send(frame: Buffer): void {
    const socket = this.socket
    if (socket.readyState !== socket.OPEN) return
    // A client that does not read must not grow this node's memory: drop it, it will resume. What
    // waits unsent of the server's own backfill does not count, and a socket with nothing waiting
    // always takes a frame.
    const unsent = socket.bufferedAmount - this.backfillBytes
    if (unsent > 0 && unsent + frame.length > this.deps.maxBufferedBytes) {
      this.deps.meter.slowConsumer()
      socket.close(CloseCode.slowConsumer, 'slow consumer')
      setTimeout(() => socket.terminate(), SLOW_CLOSE_GRACE_MS).unref()
      return
    }
    socket.send(frame, { binary: false })
  }

  sendBackfill(frame: Buffer): Promise<boolean> {
    const socket = this.socket
    if (socket.readyState !== socket.OPEN) return Promise.resolve(false)
    this.backfillBytes += frame.length
    // ws calls back once the frame is written out, or with an error once the socket is gone.
    return new Promise((resolve) =>
      socket.send(frame, { binary: false }, (err) => {
        this.backfillBytes -= frame.length
        resolve(!err)
      }),
    )
  }

  private reply(frame: ServerFrame): void {
    this.send(encodeFrame(frame))
  }

  private error(code: ErrorFrameCode, message: string, id?: string, retryAfterSeconds?: number): void {
    this.deps.meter.errorFrame(code)
    this.reply({ type: 'error', ...(id === undefined ? {} : { id }), code, message, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) })
  }

  /** Frames are handled one at a time, so a client's posts get seqs in the order it sent them. */
  private enqueue(data: RawData, isBinary: boolean): void {
    if (isBinary) return this.error('bad_frame', 'binary frames are not accepted')
    const parsed = parseClientFrame(data.toString())
    if (!parsed.ok) return this.error('bad_frame', parsed.message, parsed.id)
    if (this.queued >= MAX_QUEUED_FRAMES) return this.error('busy', 'too many frames in flight', parsed.frame.id)
    this.queued++
    this.queue = this.queue
      // A socket that closed meanwhile has nobody to answer; its queued frames are dropped.
      .then(() => (this.socket.readyState === this.socket.OPEN ? this.handle(parsed.frame) : undefined))
      .catch((err: unknown) => this.fail(err, parsed.frame.id))
      // An idle socket keeps no promise of its own.
      .finally(() => {
        if (--this.queued === 0) this.queue = SETTLED
      })
  }

  private fail(err: unknown, id: string | undefined): void {
    if (err instanceof ChatError) {
      return this.error(err.code, err.message, id, err.retryAfterSeconds)
    }
    this.deps.log.error({ err }, 'a WebSocket frame failed')
    this.error('internal', 'internal error', id)
  }

  /** The socket's user, or the socket is closed with 4003: someone not logged in tried to post or type. */
  private loggedIn(): SessionUser | undefined {
    if (!this.user) this.socket.close(CloseCode.loginRequired, 'log in to post')
    return this.user
  }

  private async handle(frame: ClientFrame): Promise<void> {
    switch (frame.type) {
      case 'subscribe': {
        this.spendSubscribeBudget()
        const { conversationId } = frame
        const current = this.deps.subscriptions.of(this)
        if (!current.has(conversationId) && current.size >= MAX_SUBSCRIPTIONS_PER_SOCKET)
          throw new ChatError('invalid', `at most ${MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions per socket`)
        const result = await this.deps.subscriptions.subscribe(this, conversationId, frame.afterSeq)
        // Undefined: the socket closed while its backfill was read, or a removal ended the subscription.
        if (!result) return
        if (result.mayPost) (this.typedAt ??= new Map()).set(conversationId, -Infinity)
        else this.typedAt?.delete(conversationId)
        const { lastSeq, complete } = result
        return this.reply({ type: 'subscribed', id: frame.id, conversationId, lastSeq, complete })
      }
      case 'unsubscribe':
        this.deps.subscriptions.unsubscribe(this, frame.conversationId)
        this.typedAt?.delete(frame.conversationId)
        return this.reply({ type: 'unsubscribed', id: frame.id, conversationId: frame.conversationId })
      case 'send': {
        const user = this.loggedIn()
        if (!user) return
        const posted = await this.deps.post(user, frame.conversationId, frame.text, frame.id, frame.replyTo)
        return this.reply({ type: 'ack', id: frame.id, ...posted })
      }
      case 'typing':
        return this.typing(frame.conversationId)
      case 'ping':
        return this.reply({ type: 'pong', id: frame.id })
    }
  }

  /**
   * A subscribe reads the log and checks access in Postgres, so a socket that resubscribes in a loop
   * is held to SUBSCRIBES_PER_SECOND, after a burst as large as its subscriptions may be.
   */
  private spendSubscribeBudget(): void {
    const now = performance.now()
    const refilled = this.subscribeBudget + ((now - this.subscribeBudgetAt) / 1000) * SUBSCRIBES_PER_SECOND
    this.subscribeBudget = Math.min(MAX_SUBSCRIPTIONS_PER_SOCKET, refilled)
    this.subscribeBudgetAt = now
    if (this.subscribeBudget < 1) throw new RateLimited(Math.ceil((1 - this.subscribeBudget) / SUBSCRIBES_PER_SECOND))
    this.subscribeBudget -= 1
  }

  /**
   * Relays "typing" to the conversation's other subscribers, at most once per TYPING_INTERVAL_MS per
   * conversation (the rest are dropped without an answer). Only where the socket is subscribed and
   * may post: decided from memory, with no database call.
   */
  private async typing(conversationId: number): Promise<void> {
    const user = this.loggedIn()
    if (!user) return
    const last = this.typedAt?.get(conversationId)
    if (last === undefined || !this.deps.subscriptions.of(this).has(conversationId))
      throw new ChatError('forbidden', 'subscribe to a conversation you may post in before typing in it')
    const now = performance.now()
    if (now - last < TYPING_INTERVAL_MS) return
    this.typedAt?.set(conversationId, now)
    const frame = { type: 'typing' as const, conversationId, user: user.username, expiresInMs: TYPING_EXPIRES_MS }
    await this.deps.signal(conversationId, user.userId, frame)
  }
}
