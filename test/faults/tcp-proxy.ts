import net from 'node:net'

/** What the proxy does with traffic. */
export type ProxyMode =
  /** Bytes flow both ways. */
  | 'open'
  /** Connections are reset at once, old and new, as if the service went down. */
  | 'down'
  /**
   * Nothing flows and nothing closes, as when packets are dropped: bytes wait in the kernel's buffers
   * and new connections are held without reaching the service. They flow again on 'open', as TCP
   * retransmission would deliver them.
   */
  | 'blackhole'

interface Pair {
  client: net.Socket
  upstream: net.Socket | undefined
}

/**
 * A TCP proxy on a loopback port in front of a service (the shared Postgres, a Redis of a test's own),
 * so that a test can take the service away from the nodes behind it without touching the service.
 */
export class TcpProxy {
  private mode: ProxyMode = 'open'
  private readonly pairs = new Set<Pair>()

  private constructor(
    private readonly server: net.Server,
    private readonly target: { host: string; port: number },
  ) {
    server.on('connection', (client) => this.accept(client))
  }

  /** Starts a proxy to host:port on a free loopback port. */
  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const server = net.createServer({ pauseOnConnect: true })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    return new TcpProxy(server, target)
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port
  }

  /** The connections currently open through the proxy. */
  get connections(): number {
    return this.pairs.size
  }

  /** Changes what happens to traffic, for the connections that are open and those to come. */
  set(mode: ProxyMode): void {
    this.mode = mode
    for (const pair of [...this.pairs]) {
      if (mode === 'down') this.drop(pair)
      else if (mode === 'blackhole') this.hold(pair)
      else this.flow(pair)
    }
  }

  /** Resets every open connection once (as a restart of the service would), leaving the mode as it is. */
  resetConnections(): void {
    for (const pair of [...this.pairs]) this.drop(pair)
  }

  async close(): Promise<void> {
    for (const pair of [...this.pairs]) this.drop(pair)
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private accept(client: net.Socket): void {
    const pair: Pair = { client, upstream: undefined }
    this.pairs.add(pair)
    client.on('error', () => this.drop(pair))
    client.on('close', () => this.drop(pair))
    if (this.mode === 'down') this.drop(pair)
    else if (this.mode === 'open') this.flow(pair)
  }

  /** Connects the pair upstream if it is not yet, and lets bytes flow both ways. */
  private flow(pair: Pair): void {
    if (!pair.upstream) {
      const upstream = net.connect(this.target)
      pair.upstream = upstream
      upstream.setNoDelay(true)
      pair.client.setNoDelay(true)
      upstream.on('error', () => this.drop(pair))
      upstream.on('close', () => this.drop(pair))
      this.forward(pair.client, upstream)
      this.forward(upstream, pair.client)
    }
    pair.client.resume()
    pair.upstream.resume()
  }

  /** Copies bytes from one side to the other, pausing for backpressure; resumes only while open. */
  private forward(from: net.Socket, to: net.Socket): void {
    from.on('data', (chunk) => {
      if (to.write(chunk)) return
      from.pause()
      to.once('drain', () => {
        if (this.mode === 'open') from.resume()
      })
    })
  }

  private hold(pair: Pair): void {
    pair.client.pause()
    pair.upstream?.pause()
  }

  private drop(pair: Pair): void {
    if (!this.pairs.delete(pair)) return
    reset(pair.client)
    if (pair.upstream) reset(pair.upstream)
  }
}

/**
 * Resets a connection (RST) while it is open both ways; destroys it otherwise (still connecting, or
 * half closed, which Node follows with an end of its own). On Node 20 a reset that libuv refuses (it
 * does while the socket shuts down) leaves the socket's handle open for good, and the process then
 * spins forever at exit, waiting for that handle to close.
 */
function reset(socket: net.Socket): void {
  if (socket.readyState === 'open' && !socket.writableEnded) socket.resetAndDestroy()
  else socket.destroy()
}
