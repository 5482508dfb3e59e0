import type { WebSocket, WebSocketServer } from 'ws'

/** A beat's pings go out in ticks about this far apart, a slice of the sockets each, not all in one turn of the event loop. */
const TICK_MS = 1000

/**
 * Pings every socket once per interval and terminates the ones that did not answer the previous
 * ping. A client that vanished without closing (a phone that lost its signal, a NAT that forgot the
 * connection) would otherwise keep its socket, its memory and its user's presence until TCP gives
 * up. One timer per node: sockets are dealt into as many slices as the interval has ticks, and each
 * tick pings one slice, so a dead client is dropped within two intervals.
 */
export class Heartbeat {
  private readonly slices: Set<WebSocket>[]
  private readonly unanswered = new WeakSet<WebSocket>()
  private dealt = 0
  private ticks = 0
  private timer: NodeJS.Timeout | undefined
  // Listeners shared by every socket (an emitter calls them with itself as `this`): no closure per socket.
  private readonly answered: (this: WebSocket) => void
  private readonly gone: (this: WebSocket) => void

  constructor(
    server: WebSocketServer,
    private readonly intervalMs: number,
  ) {
    const slices: Set<WebSocket>[] = Array.from({ length: Math.max(1, Math.round(intervalMs / TICK_MS)) }, () => new Set())
    const unanswered = this.unanswered
    this.slices = slices
    this.answered = function (this: WebSocket) {
      unanswered.delete(this)
    }
    this.gone = function (this: WebSocket) {
      for (const slice of slices) if (slice.delete(this)) return
    }
    server.on('connection', (socket) => this.watch(socket))
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.intervalMs / this.slices.length)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  private watch(socket: WebSocket): void {
    const slice = this.slices[this.dealt++ % this.slices.length] as Set<WebSocket>
    slice.add(socket)
    socket.on('pong', this.answered)
    // 'close' comes once: on() spares the wrapper once() would make for every socket.
    socket.on('close', this.gone)
  }

  private tick(): void {
    for (const socket of this.slices[this.ticks++ % this.slices.length] as Set<WebSocket>) {
      if (this.unanswered.has(socket)) {
        socket.terminate()
        continue
      }
      this.unanswered.add(socket)
      socket.ping()
    }
  }
}
