import net from 'node:net'

interface Link {
  client: net.Socket
  upstream: net.Socket | undefined
  /** The index of the upstream the connection went to. */
  target: number
  /** Whether its first request was a WebSocket handshake. */
  webSocket: boolean
}

/**
 * A round-robin TCP load balancer on a loopback port, in front of the nodes of a test: each client
 * connection goes to the next upstream that accepts it (one that refuses, a killed node, is skipped)
 * and stays on it, as a layer-4 balancer does. It knows which upstream each connection is on, and
 * which connections carry a WebSocket, so that a test can kill the node a page's socket is on.
 */
export class Balancer {
  private next = 0
  private readonly links = new Set<Link>()

  private constructor(
    private readonly server: net.Server,
    private readonly upstreams: readonly { host: string; port: number }[],
  ) {
    server.on('connection', (client) => this.accept(client))
  }

  static async start(upstreamUrls: readonly string[]): Promise<Balancer> {
    const server = net.createServer({ pauseOnConnect: true })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    const upstreams = upstreamUrls.map((url) => ({ host: new URL(url).hostname, port: Number(new URL(url).port) }))
    return new Balancer(server, upstreams)
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`
  }

  /** The upstream of each open WebSocket connection. */
  get webSocketUpstreams(): number[] {
    return [...this.links].filter((link) => link.webSocket && link.upstream).map((link) => link.target)
  }

  async close(): Promise<void> {
    for (const link of [...this.links]) this.drop(link)
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private accept(client: net.Socket): void {
    const link: Link = { client, upstream: undefined, target: -1, webSocket: false }
    this.links.add(link)
    client.on('error', () => this.drop(link))
    client.on('close', () => this.drop(link))
    this.connect(link, this.next++ % this.upstreams.length, this.upstreams.length)
  }

  /** Tries upstream `index`, and the ones after it while they refuse. */
  private connect(link: Link, index: number, triesLeft: number): void {
    if (!this.links.has(link)) return
    if (triesLeft === 0) return this.drop(link)
    const upstream = net.connect(this.upstreams[index] as { host: string; port: number })
    upstream.once('error', () => {
      if (link.upstream === upstream) return this.drop(link)
      upstream.destroy()
      this.connect(link, (index + 1) % this.upstreams.length, triesLeft - 1)
    })
    upstream.once('connect', () => {
      if (!this.links.has(link)) return void upstream.destroy()
      link.upstream = upstream
      link.target = index
      upstream.on('close', () => this.drop(link))
      link.client.once('data', (chunk: Buffer) => {
        const head = chunk.toString('latin1', 0, Math.min(chunk.length, 4096))
        link.webSocket = /^GET \/ws[ ?]/.test(head) && /\r\nupgrade:\s*websocket/i.test(head)
      })
      link.client.pipe(upstream)
      upstream.pipe(link.client)
      link.client.resume()
    })
  }

  private drop(link: Link): void {
    if (!this.links.delete(link)) return
    link.client.destroy()
    link.upstream?.destroy()
  }
}
