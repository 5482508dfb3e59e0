import { CloseCode } from '../../src/protocol/limits.js'
import { type BackoffOptions, backoffDelay } from './backoff.js'
import { type Clock, Timer } from './clock.js'
import type { Credentials } from './credentials.js'
import type { Endpoints } from './endpoints.js'
import { OPEN, type WebSocketFactory, type WebSocketLike, abandon } from './socket.js'
import type { ConnectionState, IncomingFrame } from './types.js'

export interface ConnectionOptions {
  /** How long a socket may take from its start to the welcome frame before it is given up. */
  connectTimeoutMs: number
  /** After this long without a frame from the server, the client sends a ping frame. */
  pingIntervalMs: number
  /** A socket that answers nothing this long after a ping is dropped and replaced. */
  pongTimeoutMs: number
  backoff: BackoffOptions
}

export interface ConnectionDeps extends ConnectionOptions {
  endpoints: Endpoints
  credentials: Credentials
  createWebSocket: WebSocketFactory
  clock: Clock
  random: () => number
  /** A socket was welcomed: it is logged in as `user` (null: nobody). */
  onWelcome(user: string | null): void
  /** Every frame after the welcome. */
  onFrame(frame: IncomingFrame): void
  /** The socket in use is gone, whatever the reason; `code` is its close code. */
  onLost(code: number, reason: string): void
  /** The session ended (4001) and could not be renewed. */
  onSessionEnded(reason: string): void
  /** A socket that was not logged in was refused something that needs a login (4003). */
  onLoginRequired(): void
  onState(state: ConnectionState, code?: number): void
}

/** A refresh this close to the access token's expiry is made before a socket is opened with it. */
const EXPIRY_MARGIN_MS = 5_000
const PING_ID = 'heartbeat'

/**
 * One socket at a time, kept open: reconnecting after each loss to the next node, with backoff and
 * full jitter, and acting on each close code as docs/protocol.md says (1012: at once; 4001: renew the
 * tokens or stop; others: backoff). It checks the socket itself with ping frames, since a browser
 * does not see a connection that died without closing.
 */
export class Connection {
  private ws: WebSocketLike | undefined
  private running = false
  private welcomed = false
  private everWelcomed = false
  private attempt = 0
  /** Sockets in a row that closed before their welcome. */
  private failedOpens = 0
  private lastHeard = 0
  /** A ping went out and nothing has been heard since. */
  private awaitingPong = false
  private readonly retryTimer: Timer
  private readonly connectTimer: Timer
  private readonly pingTimer: Timer

  constructor(private readonly deps: ConnectionDeps) {
    this.retryTimer = new Timer(deps.clock)
    this.connectTimer = new Timer(deps.clock)
    this.pingTimer = new Timer(deps.clock)
  }

  get isOpen(): boolean {
    return this.welcomed && this.ws?.readyState === OPEN
  }

  start(): void {
    if (this.running) return
    this.running = true
    this.attempt = 0
    void this.open()
  }

  /** Closes the socket with 1000 and reconnects no more. */
  stop(): void {
    if (!this.running && !this.ws) return
    this.running = false
    this.clearTimers()
    const ws = this.ws
    this.ws = undefined
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null
      try {
        ws.close(1000, 'client closed')
      } catch {
        abandon(ws)
      }
      this.lose(1000, 'client closed')
    }
    this.deps.onState('closed')
  }

  /** Gives the socket in use up at once (it stopped answering) and opens another on the next node. */
  drop(reason: string): void {
    const ws = this.ws
    if (!ws) return
    this.ws = undefined
    abandon(ws)
    this.closed(1006, reason)
  }

  /** Sends a frame if a socket is open and welcomed; false otherwise (it is sent again after the next welcome). */
  send(frame: object): boolean {
    if (!this.isOpen) return false
    ;(this.ws as WebSocketLike).send(JSON.stringify(frame))
    return true
  }

  private async open(): Promise<void> {
    if (!this.running) return
    this.deps.onState(this.everWelcomed || this.attempt > 0 ? 'reconnecting' : 'connecting')
    const { credentials, clock } = this.deps
    const tokens = credentials.current
    // A handshake refused for its token looks like any failed connection (a browser is told no
    // status), so after every second failure in a row the token is renewed first.
    const suspect = this.failedOpens > 0 && this.failedOpens % 2 === 0
    if (tokens && (suspect || tokens.expiresAt - clock.now() < EXPIRY_MARGIN_MS)) {
      const outcome = await credentials.refresh()
      if (!this.running) return
      if (outcome === 'ended') return this.sessionEnded('the session ended')
    }
    let ws: WebSocketLike
    try {
      ws = this.deps.createWebSocket(this.deps.endpoints.socketUrl, credentials.socketProtocols(), credentials.socketHeaders())
    } catch (err) {
      this.deps.onLost(1006, (err as Error).message)
      return this.retry()
    }
    this.ws = ws
    this.welcomed = false
    this.connectTimer.set(this.deps.connectTimeoutMs, () => this.drop('no welcome in time'))
    ws.onmessage = (event) => {
      if (this.ws !== ws) return
      this.lastHeard = clock.now()
      this.awaitingPong = false
      let frame: IncomingFrame
      try {
        frame = JSON.parse(String(event.data)) as IncomingFrame
      } catch {
        return
      }
      if (frame.type === 'welcome') return this.welcome(frame.user)
      if (frame.type === 'pong' && frame.id === PING_ID) return
      this.deps.onFrame(frame)
    }
    ws.onclose = (event) => {
      if (this.ws !== ws) return
      this.ws = undefined
      this.closed(event.code, event.reason)
    }
    ws.onerror = () => {
      // A failed handshake or a broken connection: onclose follows, with 1006.
    }
  }

  private welcome(user: string | null): void {
    this.connectTimer.clear()
    this.failedOpens = 0
    this.welcomed = true
    this.everWelcomed = true
    this.attempt = 0
    this.deps.onState('connected')
    this.heartbeat()
    this.deps.onWelcome(user)
  }

  /** Pings after a quiet interval; drops the socket if the ping gets no answer in time. */
  private heartbeat(): void {
    const { pingIntervalMs, pongTimeoutMs, clock } = this.deps
    this.pingTimer.set(pingIntervalMs - (clock.now() - this.lastHeard), () => {
      if (clock.now() - this.lastHeard < pingIntervalMs) return this.heartbeat()
      this.awaitingPong = true
      this.send({ type: 'ping', id: PING_ID })
      this.pingTimer.set(pongTimeoutMs, () => (this.awaitingPong ? this.drop('no answer to a ping') : this.heartbeat()))
    })
  }

  private closed(code: number, reason: string): void {
    this.lose(code, reason)
    if (!this.running) return this.deps.onState('closed', code)
    if (code === CloseCode.sessionEnded) return void this.reauthenticate()
    if (code === CloseCode.loginRequired) this.deps.onLoginRequired()
    this.deps.endpoints.next()
    if (code === CloseCode.serviceRestart) {
      this.deps.onState('reconnecting', code)
      return void this.open()
    }
    this.retry(code)
  }

  private lose(code: number, reason: string): void {
    const hadSocket = this.welcomed
    if (!hadSocket) this.failedOpens++
    this.welcomed = false
    this.clearTimers()
    if (hadSocket || code !== 1000) this.deps.onLost(code, reason)
  }

  private retry(code?: number): void {
    this.deps.onState('reconnecting', code)
    this.retryTimer.set(backoffDelay(this.attempt++, this.deps.backoff, this.deps.random), () => void this.open())
  }

  /** 4001: the session ended. Tokens may renew it (a family that is still valid); a cookie cannot. */
  private async reauthenticate(): Promise<void> {
    const outcome = this.deps.credentials.hasTokens ? await this.deps.credentials.refresh() : 'ended'
    if (!this.running) return
    if (outcome === 'ended') return this.sessionEnded('the session ended (4001)')
    this.retry(CloseCode.sessionEnded)
  }

  private sessionEnded(reason: string): void {
    this.running = false
    this.clearTimers()
    this.deps.onState('closed', CloseCode.sessionEnded)
    this.deps.onSessionEnded(reason)
  }

  private clearTimers(): void {
    this.retryTimer.clear()
    this.connectTimer.clear()
    this.pingTimer.clear()
  }
}
