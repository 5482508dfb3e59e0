import type { Clock, WebSocketFactory, WebSocketLike } from '../../client/src/index.js'

/**
 * A clock that moves only when a test says, and sockets that a test plays the server's side of: for
 * the SDK's unit tests, where what matters is when it reconnects, resends and refreshes. Everything
 * that crosses a real network is tested against real nodes (test/sdk-cluster.test.ts).
 */
export class FakeClock implements Clock {
  private time = 1_000_000
  private nextId = 1
  private readonly timers = new Map<number, { at: number; callback: () => void }>()

  now(): number {
    return this.time
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++
    this.timers.set(id, { at: this.time + Math.max(0, ms), callback })
    return id
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number)
  }

  /** Moves time forward, running each timer due on the way at its time, and the promise jobs it starts. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms
    for (;;) {
      await settle()
      const due = [...this.timers.entries()].filter(([, timer]) => timer.at <= end).sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0]
      if (!due) break
      this.timers.delete(due[0])
      this.time = due[1].at
      due[1].callback()
    }
    this.time = end
    await settle()
  }

  /** When the next timer is due, in ms from now (undefined: none is set). */
  get nextDueIn(): number | undefined {
    const times = [...this.timers.values()].map((timer) => timer.at)
    return times.length === 0 ? undefined : Math.min(...times) - this.time
  }
}

/** Lets promise jobs and other pending callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** One socket the SDK opened, with the server's side played by the test. */
export class FakeSocket implements WebSocketLike {
  readyState = 0
  readonly sent: Record<string, unknown>[] = []
  /** The code the client closed with, if it did. */
  closedWith: number | undefined
  onopen: ((event: never) => void) | null = null
  onmessage: ((event: { data: unknown }) => void) | null = null
  onclose: ((event: { code: number; reason: string }) => void) | null = null
  onerror: ((event: never) => void) | null = null

  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data))
  }

  close(code = 1000): void {
    this.closedWith = code
    this.readyState = 3
  }

  /** The server accepts the socket and welcomes it. */
  welcome(user: string | null = 'alice'): void {
    this.readyState = 1
    this.receive({ type: 'welcome', user })
  }

  receive(frame: object): void {
    this.onmessage?.({ data: JSON.stringify(frame) })
  }

  /** The connection ends from the server's side (or the network's: 1006). */
  end(code: number, reason = ''): void {
    this.readyState = 3
    this.onclose?.({ code, reason })
  }

  /** Frames of one type the client sent on this socket. */
  sentOf(type: string): Record<string, unknown>[] {
    return this.sent.filter((frame) => frame.type === type)
  }
}

/** A factory that records every socket it makes. */
export function fakeSockets(): { sockets: FakeSocket[]; factory: WebSocketFactory; last(): FakeSocket } {
  const sockets: FakeSocket[] = []
  return {
    sockets,
    factory: (url, protocols) => {
      const socket = new FakeSocket(url, protocols)
      sockets.push(socket)
      return socket
    },
    last: () => {
      const socket = sockets[sockets.length - 1]
      if (!socket) throw new Error('no socket was made')
      return socket
    },
  }
}
