/**
 * The node URLs a client may use, and which one it uses now. Behind a load balancer this is one URL;
 * given several, the client moves to the next whenever one fails (a lost socket, a request with no
 * answer), so that it never waits on a node that is gone.
 */
export class Endpoints {
  private index: number

  constructor(
    readonly urls: readonly string[],
    start = 0,
  ) {
    if (urls.length === 0) throw new TypeError('at least one server URL is needed')
    for (const url of urls) new URL(url)
    this.index = start % urls.length
  }

  /** The base URL in use, without a trailing slash. */
  get current(): string {
    return (this.urls[this.index] as string).replace(/\/+$/, '')
  }

  /** The WebSocket URL of the node in use. */
  get socketUrl(): string {
    return `${this.current.replace(/^http/, 'ws')}/ws`
  }

  /** Moves on to the next node. */
  next(): void {
    this.index = (this.index + 1) % this.urls.length
  }
}

/** The page's own origin, the default server URL in a browser. */
export function pageOrigin(): string {
  const origin = (globalThis as { location?: { origin?: string } }).location?.origin
  if (!origin || origin === 'null') throw new TypeError('no page origin here: pass the server URLs in `urls`')
  return origin
}
