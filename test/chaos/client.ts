import type net from 'node:net'
import WebSocket from 'ws'

/**
 * The documented client (docs/protocol.md, "Reconnecting"; docs/api.md, "Retries"), as a reader, a
 * writer or both, with every event it receives recorded before any dedupe, for the checker.
 *
 * - It reconnects after any close but a deliberate one or 4001, to the next node in its list: at once
 *   after 1012, otherwise with backoff. It subscribes to each conversation with the last seq it saw,
 *   subscribes again after `complete: false`, and again on a seq jump.
 * - A write is retried with the same id until it is acknowledged: over REST with an Idempotency-Key on
 *   the next node, over a socket on the same one, or on the next after the socket is lost or its ack is
 *   late (the socket is then dropped: a socket that does not answer is as good as gone).
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
  /** Things the server refused for good, which a correct run never sees. */
  refused: string[]
  /** Message ids still not acknowledged at the deadline. */
  unacknowledged: string[]
}

/** Late enough for a loaded machine, early enough that a write stuck on a dead path moves on. */
const ACK_TIMEOUT_MS = 5_000
const HANDSHAKE_TIMEOUT_MS = 5_000
const BACKOFF_FIRST_MS = 100
const BACKOFF_MAX_MS = 2_000
/** Error frames after which the same frame may be sent again (docs/protocol.md, error codes). */
const RETRYABLE_FRAME_ERRORS = new Set(['busy', 'overloaded', 'rate_limited', 'internal', 'unavailable'])

/** Exponential backoff with jitter: half to all of 0.1 s doubling to 2 s. */
function backoff(attempt: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** attempt) * (0.5 + Math.random() / 2)
}

const retryableStatus = (status: number) => status === 408 || status === 429 || status >= 500

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

/** The state of one socket: what it has subscribed and whether all of that is live. */
interface SocketState {
  ws: WebSocket
  welcomed: boolean
  /** Subscribe frames in flight, by conversation: the id of the latest. */
  subscribing: Map<number, string>
  /** Subscribes refused with a retryable error in a row, by conversation: the backoff's step. */
  refusals: Map<number, number>
  live: Set<number>
}

interface PendingWrite {
  clientId: string
  conversationId: number
  text: string
  /** Times sent. */
  sends: number
  /** Retries after an error frame, for the backoff. */
  attempt: number
  ackTimer: NodeJS.Timeout | undefined
  retryTimer: NodeJS.Timeout | undefined
  done: () => void
}

export class ChaosClient {
  readonly deliveries: Delivery[] = []
  readonly acks: Ack[] = []
  readonly stats: ClientStats = {
    connections: 0,
    closes: {},
    errorFrames: {},
    httpFailures: {},
    writeRetries: 0,
    ackTimeouts: 0,
    incompleteResumes: 0,
    jumps: 0,
    refused: [],
    unacknowledged: [],
  }
  /** The last seq seen in order, per conversation read: where a resume starts. */
  private readonly lastSeq = new Map<number, number>()
  private socket: SocketState | undefined
  private nodeIndex: number
  private final = false
  private paused = false
  private frameCounter = 0
  private pendingWrite: PendingWrite | undefined
  private socketStop = new AbortController()
  private readonly writeStop = new AbortController()
  /** Fires when the writes in flight are given up on. */
  private readonly writeGiveUp = new AbortController()
  private socketLoop: Promise<boolean> | undefined
  private writeLoop: Promise<void> | undefined
  private wokeLive: (() => void) | undefined
  private readonly firstLive: Promise<void>
  private everLive = false

  constructor(readonly options: ClientOptions) {
    this.nodeIndex = options.home
    for (const id of options.reads) this.lastSeq.set(id, 0)
    this.firstLive = new Promise((resolve) => (this.wokeLive = resolve))
  }

  get name(): string {
    return this.options.name
  }

  /**
   * Opens the client's socket, if it reads or writes over one, and resolves once it is live (every
   * subscription complete) or the deadline passed.
   */
  async startSocket(): Promise<void> {
    const { reads, write } = this.options
    if (reads.length === 0 && write?.transport !== 'ws') return
    this.socketLoop = this.runSocket(false, this.options.deadline)
    const waited = new AbortController()
    await Promise.race([this.firstLive, pause(this.options.deadline - Date.now(), waited.signal)])
    waited.abort()
  }

  /** Whether a socket of this client has been live (or it needs none). */
  get ready(): boolean {
    return this.everLive || (this.options.reads.length === 0 && this.options.write?.transport !== 'ws')
  }

  /** Starts posting its messages, one at a time. */
  startWriting(): void {
    if (this.options.write && !this.writeLoop) this.writeLoop = this.runWrites(this.options.write)
  }

  /** Resolves when the write loop has ended: its count was reached, or writing stopped. */
  async written(): Promise<void> {
    await this.writeLoop
  }

  /** The last seq seen in order in a conversation read. */
  seen(conversationId: number): number {
    return this.lastSeq.get(conversationId) ?? 0
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
    const giveUp = setTimeout(() => {
      this.writeGiveUp.abort()
      this.settleWrite(undefined, true)
    }, limitMs)
    await this.writeLoop
    clearTimeout(giveUp)
    // A socket that only wrote has nothing left to do.
    if (this.options.reads.length === 0) await this.stopSocket()
  }

  /** Closes the socket deliberately, and reconnects no more. */
  async stopSocket(): Promise<void> {
    this.socketStop.abort()
    await this.socketLoop
  }

  /**
   * After stopSocket(): one more socket that resumes every conversation from the last seq seen, until
   * each is complete. What arrives is marked `final`. Resolves to false if it did not complete within
   * `timeoutMs`.
   */
  async finalResume(timeoutMs: number): Promise<boolean> {
    if (this.options.reads.length === 0) return true
    this.final = true
    this.socketStop = new AbortController()
    this.socketLoop = this.runSocket(true, Math.min(this.options.deadline, Date.now() + timeoutMs))
    return this.socketLoop
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
    return (this.socket?.ws as unknown as { _socket?: net.Socket } | undefined)?._socket
  }

  /**
   * Keeps a socket open, reconnecting as documented, until stopped or the deadline or, with
   * `untilLive`, until one socket is live. Resolves to whether it ended live.
   */
  private async runSocket(untilLive: boolean, deadline: number): Promise<boolean> {
    const controller = this.socketStop
    const timer = setTimeout(() => controller.abort(), Math.max(0, deadline - Date.now()))
    try {
      return await this.reconnecting(untilLive, controller.signal)
    } finally {
      clearTimeout(timer)
    }
  }

  private async reconnecting(untilLive: boolean, stop: AbortSignal): Promise<boolean> {
    let attempt = 0
    while (!stop.aborted) {
      const url = this.options.nodes[this.nodeIndex % this.options.nodes.length] as string
      const { code, wasLive } = await this.connect(url, untilLive)
      if (untilLive && wasLive) return true
      if (stop.aborted) break
      this.nodeIndex++
      if (code === 4001) {
        this.stats.refused.push('the session ended (4001)')
        break
      }
      if (wasLive) attempt = 0
      await pause(code === 1012 ? 0 : backoff(attempt++), stop)
    }
    return false
  }

  /** One socket, from the handshake to its close. */
  private connect(url: string, closeWhenLive: boolean): Promise<{ code: number; wasLive: boolean }> {
    return new Promise((resolve) => {
      const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`, {
        headers: { cookie: this.options.cookie },
        perMessageDeflate: false,
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      })
      const state: SocketState = { ws, welcomed: false, subscribing: new Map(), refusals: new Map(), live: new Set() }
      let wasLive = false
      this.socket = state
      const becameLive = () => {
        wasLive = true
        this.everLive = true
        this.wokeLive?.()
        if (closeWhenLive) ws.close(1000, 'done')
      }
      const stopping = () => ws.close(1000, 'done')
      this.socketStop.signal.addEventListener('abort', stopping, { once: true })
      ws.on('upgrade', () => {
        if (this.paused) this.rawSocket()?.pause()
      })
      ws.on('error', () => {
        // A failed handshake or connection: 'close' follows, with 1006.
      })
      ws.on('message', (data) => {
        if (this.socket !== state) return
        let frame: any
        try {
          frame = JSON.parse(data.toString())
        } catch {
          this.stats.refused.push(`a frame that is not JSON: ${data.toString().slice(0, 100)}`)
          return
        }
        this.onFrame(state, frame, becameLive)
      })
      ws.on('close', (code) => {
        this.socketStop.signal.removeEventListener('abort', stopping)
        bump(this.stats.closes, code)
        if (this.socket === state) this.socket = undefined
        clearTimeout(this.pendingWrite?.ackTimer)
        resolve({ code, wasLive })
      })
    })
  }

  private onFrame(state: SocketState, frame: any, becameLive: () => void): void {
    switch (frame.type) {
      case 'welcome':
        state.welcomed = true
        this.stats.connections++
        for (const id of this.options.reads) this.subscribe(state, id)
        if (this.options.reads.length === 0) becameLive()
        this.sendPendingWrite()
        return
      case 'events':
        for (const event of frame.events) this.onEvent(state, event)
        return
      case 'subscribed': {
        const id = frame.conversationId as number
        if (state.subscribing.get(id) !== frame.id) return
        state.subscribing.delete(id)
        state.refusals.delete(id)
        if (!frame.complete) {
          this.stats.incompleteResumes++
          this.subscribe(state, id)
          return
        }
        state.live.add(id)
        if (state.live.size === this.options.reads.length) becameLive()
        return
      }
      case 'ack':
        return this.onAck(frame)
      case 'error':
        return this.onError(state, frame)
    }
  }

  private subscribe(state: SocketState, conversationId: number): void {
    const id = `s${conversationId}-${++this.frameCounter}`
    state.subscribing.set(conversationId, id)
    state.live.delete(conversationId)
    state.ws.send(JSON.stringify({ type: 'subscribe', id, conversationId, afterSeq: this.seen(conversationId) }))
  }

  private onEvent(state: SocketState, event: any): void {
    const conversationId = event.conversationId as number
    const seq = event.seq as number
    this.deliveries.push({
      conversationId,
      seq,
      type: event.type,
      user: event.message?.user ?? event.user,
      text: event.message?.text,
      at: Date.now(),
      final: this.final,
    })
    const last = this.lastSeq.get(conversationId)
    if (last === undefined || seq <= last) return
    if (seq === last + 1) this.lastSeq.set(conversationId, seq)
    // A jump: start over from the last seq seen, unless a subscription is already on its way.
    else if (!state.subscribing.has(conversationId)) {
      this.stats.jumps++
      this.subscribe(state, conversationId)
    }
  }

  private onError(state: SocketState, frame: any): void {
    bump(this.stats.errorFrames, frame.code)
    const retryable = RETRYABLE_FRAME_ERRORS.has(frame.code)
    const pending = this.pendingWrite
    if (pending && frame.id === pending.clientId) {
      clearTimeout(pending.ackTimer)
      if (!retryable) return this.settleWrite(`${pending.clientId}: ${frame.code} ${frame.message}`)
      pending.retryTimer = setTimeout(() => this.sendPendingWrite(), backoff(pending.attempt++))
      return
    }
    for (const [conversationId, id] of state.subscribing) {
      if (id !== frame.id) continue
      if (!retryable) {
        state.subscribing.delete(conversationId)
        this.stats.refused.push(`subscribe to ${conversationId}: ${frame.code} ${frame.message}`)
        return
      }
      const refusals = state.refusals.get(conversationId) ?? 0
      state.refusals.set(conversationId, refusals + 1)
      setTimeout(() => {
        if (this.socket === state && state.subscribing.get(conversationId) === id) this.subscribe(state, conversationId)
      }, backoff(refusals))
      return
    }
    this.stats.refused.push(`an error frame for nothing in flight: ${JSON.stringify(frame)}`)
  }

  private async runWrites(load: WriteLoad): Promise<void> {
    const stop = this.writeStop.signal
    for (let k = 1; load.count === undefined || k <= load.count; k++) {
      if (stop.aborted || Date.now() >= this.options.deadline) return
      const clientId = `${this.options.name}-${k}`
      const text = messageText(clientId, load)
      if (load.transport === 'rest') await this.postOverRest(load.conversationId, clientId, text)
      else await this.postOverSocket(load.conversationId, clientId, text)
      if (load.intervalMs > 0) await pause(load.intervalMs, stop)
    }
  }

  private async postOverRest(conversationId: number, clientId: string, text: string): Promise<void> {
    const givenUp = this.writeGiveUp.signal
    for (let attempt = 0; Date.now() < this.options.deadline && !givenUp.aborted; attempt++) {
      if (attempt > 0) {
        this.stats.writeRetries++
        this.nodeIndex++
        await pause(Math.min(backoff(attempt - 1), this.options.deadline - Date.now()), givenUp)
        if (givenUp.aborted) break
      }
      const url = this.options.nodes[this.nodeIndex % this.options.nodes.length] as string
      let res: Response
      let body: any
      try {
        res = await fetch(`${url}/api/conversations/${conversationId}`, {
          method: 'POST',
          headers: { cookie: this.options.cookie, 'content-type': 'application/json', 'idempotency-key': clientId },
          body: JSON.stringify({ text }),
          signal: AbortSignal.timeout(ACK_TIMEOUT_MS),
        })
        body = await res.json().catch(() => undefined)
      } catch (err) {
        bump(this.stats.httpFailures, (err as Error).name === 'TimeoutError' ? 'timeout' : 'network')
        continue
      }
      if (res.ok) {
        this.acks.push({ clientId, conversationId, seq: Number(String(body?.url).split('/').pop()), text, at: Date.now() })
        return
      }
      bump(this.stats.httpFailures, res.status)
      if (!retryableStatus(res.status)) {
        this.stats.refused.push(`${clientId}: ${res.status} ${JSON.stringify(body)}`)
        return
      }
    }
    this.stats.unacknowledged.push(clientId)
  }

  private postOverSocket(conversationId: number, clientId: string, text: string): Promise<void> {
    return new Promise((resolve) => {
      const deadline = setTimeout(() => this.settleWrite(undefined, true), Math.max(0, this.options.deadline - Date.now()))
      this.pendingWrite = {
        clientId,
        conversationId,
        text,
        sends: 0,
        attempt: 0,
        ackTimer: undefined,
        retryTimer: undefined,
        done: () => {
          clearTimeout(deadline)
          resolve()
        },
      }
      this.sendPendingWrite()
    })
  }

  /** Sends the write in flight on the current socket, if it is open; a new socket sends it on its welcome. */
  private sendPendingWrite(): void {
    const pending = this.pendingWrite
    const state = this.socket
    if (!pending || !state?.welcomed) return
    clearTimeout(pending.retryTimer)
    clearTimeout(pending.ackTimer)
    if (pending.sends++ > 0) this.stats.writeRetries++
    state.ws.send(JSON.stringify({ type: 'send', id: pending.clientId, conversationId: pending.conversationId, text: pending.text }))
    pending.ackTimer = setTimeout(() => {
      this.stats.ackTimeouts++
      // Another node will be tried: the reconnect sends the write again.
      state.ws.terminate()
    }, ACK_TIMEOUT_MS)
  }

  private onAck(frame: any): void {
    const pending = this.pendingWrite
    if (!pending || frame.id !== pending.clientId) return
    this.acks.push({ clientId: pending.clientId, conversationId: frame.conversationId, seq: frame.seq, text: pending.text, at: Date.now() })
    this.settleWrite()
  }

  /** Ends the write in flight: acknowledged, refused for good (with why), or out of time. */
  private settleWrite(refusal?: string, timedOut = false): void {
    const pending = this.pendingWrite
    if (!pending) return
    this.pendingWrite = undefined
    clearTimeout(pending.ackTimer)
    clearTimeout(pending.retryTimer)
    if (refusal) this.stats.refused.push(refusal)
    if (timedOut) this.stats.unacknowledged.push(pending.clientId)
    pending.done()
  }
}
