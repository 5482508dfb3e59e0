import type net from 'node:net'
import WebSocket from 'ws'
import { ApiError, ChatClient, ClosedError, FrameError, type WebSocketFactory } from '../../client/src/index.js'

/**
 * A chaos client is the SDK (`@chat-cluster/client`, client/) as an application uses it, as a reader,
 * a writer or both, with every event the SDK delivers recorded, for the checker: so the suite proves
 * the SDK and the server together. The SDK reconnects to the next node after any close (at once after
 * 1012), resumes each conversation from the last seq it delivered, pages on `complete: false` and
 * resubscribes on a seq jump, and delivers each event once, in order. A write is retried with the same
 * id until it is acknowledged: over the socket by the SDK's outbox, over REST with an Idempotency-Key
 * on the next node.
 */

export type Transport = 'ws' | 'rest'

export interface WriteLoad {
  conversationId: number
  transport: Transport
  /** Pause after one message is acknowledged before the next is sent. */
  intervalMs: number
  textChars: number
  /** Pads texts with a 3-byte character instead of an ASCII one: 3 times the bytes for the same length. */
  wide?: boolean
  /** How many messages to post; without it, until stopWriting(). */
  count?: number
}

export interface ClientOptions {
  /** Unique in the run: it starts every message id and text. */
  name: string
  cookie: string
  /** Base URLs of the nodes this client may use. */
  nodes: readonly string[]
  /** Index in `nodes` of the node it uses first. */
  home: number
  /** The conversations it reads, from their first event on. */
  reads: readonly number[]
  write?: WriteLoad
  /** Nothing of this client runs or waits past this time (Date.now()). */
  deadline: number
}

/** One event as it arrived. */
export interface Delivery {
  conversationId: number
  seq: number
  type: string
  /** A message's author, or the member a member event names. */
  user: string | undefined
  text: string | undefined
  /** Date.now() on arrival. */
  at: number
  /** Arrived during the final resume, not while the client ran as documented. */
  final: boolean
}

export interface Ack {
  clientId: string
  conversationId: number
  seq: number
  text: string
  at: number
}

export interface ClientStats {
  /** Sockets that got as far as the welcome frame. */
  connections: number
  /** Socket closes (and failed handshakes, as 1006) by close code. */
  closes: Record<string, number>
  /** Error frames by code. */
  errorFrames: Record<string, number>
  /** REST answers that were not 2xx by status, and 'network' or 'timeout' for those that never came. */
  httpFailures: Record<string, number>
  /** Writes sent again after a failure, a timeout or a lost socket. */
  writeRetries: number
  /** Socket writes whose ack did not come in time. */
  ackTimeouts: number
  /** `subscribed` replies with `complete: false`. */
  incompleteResumes: number
  /** Subscriptions started over because a seq jumped. */
  jumps: number
  /** Events the SDK had delivered already that arrived again, and that it dropped. */
  repeatsDropped: number
  /** Things the server refused for good, which a correct run never sees. */
  refused: string[]
  /** Message ids still not acknowledged at the deadline. */
  unacknowledged: string[]
}

/** Late enough for a loaded machine, early enough that a write stuck on a dead path moves on. */
const ACK_TIMEOUT_MS = 5_000
const BACKOFF = { initialMs: 100, maxMs: 2_000 }

/** Waits `ms`, or less if the signal fires first. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const timer = setTimeout(done, Math.max(0, ms))
    signal?.addEventListener('abort', done, { once: true })
    function done() {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
  })
}

const bump = (counts: Record<string, number>, key: string | number) => {
  counts[key] = (counts[key] ?? 0) + 1
}

/** A text that names its message, padded to the load's length. */
export function messageText(clientId: string, load: Pick<WriteLoad, 'textChars' | 'wide'>): string {
  return `${clientId} `.padEnd(load.textChars, load.wide ? '€' : 'x')
}

/** Stats of a client that has done nothing yet. */
export const newClientStats = (): ClientStats => ({
  connections: 0,
  closes: {},
  errorFrames: {},
  httpFailures: {},
  writeRetries: 0,
  ackTimeouts: 0,
  incompleteResumes: 0,
  jumps: 0,
  repeatsDropped: 0,
  refused: [],
  unacknowledged: [],
})

export class ChaosClient {
  readonly deliveries: Delivery[] = []
  readonly acks: Ack[] = []
  readonly stats = newClientStats()
  private readonly sdk: ChatClient
  /** The socket the SDK made last, whose bytes pauseReading() stops. */
  private ws: WebSocket | undefined
  private final = false
  private paused = false
  private everLive = false
  private readonly writeStop = new AbortController()
  /** Fires when the writes in flight are given up on. */
  private readonly writeGiveUp = new AbortController()
  private writeLoop: Promise<void> | undefined

  constructor(readonly options: ClientOptions) {
    const makeSocket: WebSocketFactory = (url, protocols, headers) => {
      const ws = new WebSocket(url, protocols, { headers, perMessageDeflate: false, handshakeTimeout: ACK_TIMEOUT_MS })
      ws.on('upgrade', () => {
        if (this.paused) this.rawSocket()?.pause()
      })
      this.ws = ws
      return ws as unknown as ReturnType<WebSocketFactory>
    }
    this.sdk = new ChatClient({
      urls: options.nodes,
      firstUrl: options.home,
      cookie: options.cookie,
      createWebSocket: makeSocket,
      backoff: BACKOFF,
      ackTimeoutMs: ACK_TIMEOUT_MS,
      requestTimeoutMs: ACK_TIMEOUT_MS,
    })
    this.watch()
  }

  get name(): string {
    return this.options.name
  }

  /** Counts what the SDK went through, and records every event it delivers. */
  private watch(): void {
    const { sdk, stats } = this
    sdk.on('event', (event) => {
      this.deliveries.push({
        conversationId: event.conversationId,
        seq: event.seq,
        type: event.type,
        user: event.type === 'message.created' ? event.message.user : 'user' in event ? event.user : undefined,
        text: event.type === 'message.created' ? event.message.text : undefined,
        at: Date.now(),
        final: this.final,
      })
    })
    sdk.on('connected', () => stats.connections++)
    sdk.on('session.ended', ({ reason }) => stats.refused.push(reason))
    sdk.on('subscription.failed', ({ conversationId, error }) => stats.refused.push(`subscribe to ${conversationId}: ${error.message}`))
    sdk.on('diagnostic', (diagnostic) => {
      switch (diagnostic.type) {
        case 'close':
          return bump(stats.closes, diagnostic.code)
        case 'error-frame':
          return bump(stats.errorFrames, diagnostic.code)
        case 'request-retry':
          stats.writeRetries++
          return bump(stats.httpFailures, diagnostic.reason)
        case 'send-retry':
          stats.writeRetries++
          return
        case 'ack-timeout':
          stats.ackTimeouts++
          return
        case 'incomplete-resume':
          stats.incompleteResumes++
          return
        case 'seq-jump':
          stats.jumps++
          return
        case 'repeat-dropped':
          stats.repeatsDropped++
          return
      }
    })
  }

  /**
   * Opens the client's socket, if it reads or writes over one, and resolves once it is live (every
   * subscription complete) or the deadline passed.
   */
  async startSocket(): Promise<void> {
    if (!this.needsSocket) return
    const live = this.sdk.connect().then(() => Promise.all(this.options.reads.map((id) => this.sdk.subscribe(id, { afterSeq: 0 }))))
    const waited = new AbortController()
    const ok = await Promise.race([live.then(() => true), pause(this.options.deadline - Date.now(), waited.signal).then(() => false)]).catch(
      (err: Error) => (this.stats.refused.push(`starting: ${err.message}`), false),
    )
    waited.abort()
    if (ok) this.everLive = true
  }

  private get needsSocket(): boolean {
    return this.options.reads.length > 0 || this.options.write?.transport === 'ws'
  }

  /** Whether a socket of this client has been live (or it needs none). */
  get ready(): boolean {
    return this.everLive || !this.needsSocket
  }

  /** Starts posting its messages, one at a time. */
  startWriting(): void {
    if (this.options.write && !this.writeLoop) this.writeLoop = this.runWrites(this.options.write)
  }

  /** Resolves when the write loop has ended: its count was reached, or writing stopped. */
  async written(): Promise<void> {
    await this.writeLoop
  }

  /** The last seq the SDK delivered in a conversation read. */
  seen(conversationId: number): number {
    return this.sdk.lastSeq(conversationId) ?? 0
  }

  /** True when every conversation read has been seen up to its head. */
  caughtUp(heads: ReadonlyMap<number, number>): boolean {
    return this.options.reads.every((id) => this.seen(id) >= (heads.get(id) ?? 0))
  }

  /**
   * Sends no new message; resolves once the one in flight, if any, is acknowledged, or after
   * `limitMs`, when it is given up on (and reported as never acknowledged).
   */
  async stopWriting(limitMs: number): Promise<void> {
    this.writeStop.abort()
    const giveUp = setTimeout(() => this.writeGiveUp.abort(), limitMs)
    await this.writeLoop
    clearTimeout(giveUp)
    // A socket that only wrote has nothing left to do.
    if (this.options.reads.length === 0) await this.stopSocket()
  }

  /** Closes the socket deliberately, and reconnects no more (the SDK keeps each conversation's place). */
  async stopSocket(): Promise<void> {
    this.sdk.disconnect()
  }

  /**
   * After stopSocket(): one more socket, on which the SDK resumes every conversation from the last seq
   * it delivered, until each is live. What arrives is marked `final`. Resolves to false if it did not
   * complete within `timeoutMs`.
   */
  async finalResume(timeoutMs: number): Promise<boolean> {
    if (this.options.reads.length === 0) return true
    this.final = true
    const deadline = Math.min(this.options.deadline, Date.now() + timeoutMs)
    void this.sdk.connect().catch(() => {})
    while (!this.options.reads.every((id) => this.sdk.isLive(id))) {
      if (Date.now() > deadline) break
      await pause(20)
    }
    const live = this.options.reads.every((id) => this.sdk.isLive(id))
    this.sdk.disconnect()
    return live
  }

  /** Ends the SDK client: its socket, its timers and any send still waiting in its outbox. */
  close(): void {
    this.sdk.close()
  }

  /** Stops reading the socket's bytes (the TCP socket under the WebSocket), as a stalled client does. */
  pauseReading(): void {
    this.paused = true
    this.rawSocket()?.pause()
  }

  resumeReading(): void {
    this.paused = false
    this.rawSocket()?.resume()
  }

  private rawSocket(): net.Socket | undefined {
    return (this.ws as unknown as { _socket?: net.Socket } | undefined)?._socket
  }

  private async runWrites(load: WriteLoad): Promise<void> {
    const stop = this.writeStop.signal
    for (let k = 1; load.count === undefined || k <= load.count; k++) {
      if (stop.aborted || Date.now() >= this.options.deadline) return
      const clientId = `${this.options.name}-${k}`
      const text = messageText(clientId, load)
      await this.write(load, clientId, text)
      if (load.intervalMs > 0) await pause(load.intervalMs, stop)
    }
  }

  /** One message, until it is acknowledged, refused for good, or given up on. */
  private async write(load: WriteLoad, clientId: string, text: string): Promise<void> {
    const givenUp = AbortSignal.any([this.writeGiveUp.signal, AbortSignal.timeout(Math.max(0, this.options.deadline - Date.now()))])
    const { conversationId } = load
    try {
      const seq =
        load.transport === 'rest'
          ? await this.sdk.api.postMessage(conversationId, text, { idempotencyKey: clientId, retries: Infinity, signal: givenUp })
          : await untilAborted(this.sdk.send(conversationId, text, { id: clientId }).then((sent) => sent.seq), givenUp)
      this.acks.push({ clientId, conversationId, seq, text, at: Date.now() })
    } catch (err) {
      if (err instanceof ClosedError) this.stats.unacknowledged.push(clientId)
      else if (err instanceof ApiError || err instanceof FrameError) this.stats.refused.push(`${clientId}: ${err.message}`)
      else throw err
    }
  }
}

/** The promise, or a ClosedError once the signal fires (a socket send stays in the SDK's outbox until the client closes). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const abort = () => reject(new ClosedError('given up'))
    if (signal.aborted) return abort()
    signal.addEventListener('abort', abort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort))
  })
}
