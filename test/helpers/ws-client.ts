import WebSocket from 'ws'

export interface Closed {
  code: number
  reason: string
}

/**
 * A test WebSocket client that records every frame. Waiting helpers resolve on the first frame that
 * matches, or reject after a timeout that names what was awaited.
 */
export class TestSocket {
  readonly frames: any[] = []
  /** Every event of every 'events' frame, in arrival order. */
  readonly events: any[] = []
  closed: Closed | undefined
  private waiters: (() => void)[] = []

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString())
      this.frames.push(frame)
      if (frame.type === 'events') this.events.push(...frame.events)
      this.wake()
    })
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() }
      this.wake()
    })
  }

  static open(
    baseUrl: string,
    options: { cookie?: string; origin?: string; headers?: Record<string, string>; protocols?: string[] } = {},
  ): Promise<TestSocket> {
    const headers: Record<string, string> = { ...options.headers }
    if (options.cookie) headers.cookie = options.cookie
    const ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + '/ws', options.protocols ?? [], {
      headers,
      origin: options.origin,
      perMessageDeflate: false,
    })
    const socket = new TestSocket(ws)
    return new Promise((resolve, reject) => {
      ws.once('unexpected-response', (req, res) => {
        req.destroy()
        reject(new HandshakeRefused(res.statusCode ?? 0))
      })
      ws.once('error', reject)
      ws.once('open', () => resolve(socket))
    })
  }

  /** Opens a socket with a session cookie, or with an access token as Authorization, and waits for the welcome frame. */
  static async connect(baseUrl: string, credential: string | { bearer: string }): Promise<TestSocket> {
    const options = typeof credential === 'string' ? { cookie: credential } : { headers: { authorization: `Bearer ${credential.bearer}` } }
    const socket = await TestSocket.open(baseUrl, options)
    await socket.waitFor((f) => f.type === 'welcome', 'welcome')
    return socket
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
  }

  /** Sends a frame and waits for the reply that echoes its id. */
  async call(frame: { id: string; [key: string]: unknown }): Promise<any> {
    const from = this.frames.length
    this.send(frame)
    return this.waitFor((f) => f.id === frame.id, `reply to ${frame.id}`, from)
  }

  waitFor(match: (frame: any) => boolean, what: string, from = 0, timeoutMs = 10_000): Promise<any> {
    return this.until(() => this.frames.slice(from).find(match), what, timeoutMs)
  }

  /** Waits until `count` events have arrived in all. */
  waitForEvents(count: number, timeoutMs = 15_000): Promise<any[]> {
    return this.until(() => (this.events.length >= count ? this.events.slice(0, count) : undefined), `${count} events`, timeoutMs)
  }

  waitForClose(timeoutMs = 10_000): Promise<Closed> {
    return this.until(() => this.closed, 'close', timeoutMs)
  }

  close(): void {
    this.ws.close()
  }

  until<T>(probe: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = probe()
        if (found !== undefined) {
          clearTimeout(timer)
          this.waiters = this.waiters.filter((w) => w !== check)
          resolve(found)
          return true
        }
        if (this.closed && what !== 'close') {
          clearTimeout(timer)
          this.waiters = this.waiters.filter((w) => w !== check)
          reject(new Error(`socket closed (${this.closed.code}) while waiting for ${what}`))
          return true
        }
        return false
      }
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check)
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.frames).slice(0, 500)}`))
      }, timeoutMs)
      if (!check()) this.waiters.push(check)
    })
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter()
  }
}

export class HandshakeRefused extends Error {
  constructor(readonly status: number) {
    super(`handshake refused with ${status}`)
  }
}
