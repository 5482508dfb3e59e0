import type { BackoffOptions } from './backoff.js'
import type { Clock } from './clock.js'
import type { ConnectionOptions } from './connection.js'
import type { AuthMode, TokenState } from './credentials.js'
import type { WebSocketFactory } from './socket.js'

export interface ChatClientOptions {
  /**
   * The server's base URLs (`https://chat.example.com`): one behind a load balancer, or several
   * nodes, which the client moves between when one fails. Default: the page's own origin.
   */
  urls?: readonly string[]
  /** Which of `urls` to use first; a random one by default, so that clients spread over the nodes. */
  firstUrl?: number
  /** `cookie` (default): the session cookie; `tokens`: access and refresh tokens. */
  auth?: AuthMode
  /** Tokens from an earlier run (ChatClient.tokens), to go on without signing in again. */
  tokens?: TokenState
  /** Outside a browser: a session cookie (`sid=…`) to start with. */
  cookie?: string
  /** Makes the WebSocket; default the runtime's global WebSocket (browsers, Node ≥ 22). */
  createWebSocket?: WebSocketFactory
  fetch?: typeof fetch
  /** Reconnects and retries: delays drawn from zero to a ceiling that doubles from initialMs to maxMs. */
  backoff?: BackoffOptions
  /** Sends not yet acknowledged at most (default 1,000). */
  outboxLimit?: number
  /** A send with no ack after this long is sent again on a new socket (default 10 s). */
  ackTimeoutMs?: number
  /** One REST attempt's longest wait (default 15 s: past the server's own 503 bound with its defaults). */
  requestTimeoutMs?: number
  connection?: Partial<Omit<ConnectionOptions, 'backoff'>>
  /** For tests: the clock and the random numbers behind every timer and jitter. */
  clock?: Clock
  random?: () => number
}

export const DEFAULTS = { outboxLimit: 1000, ackTimeoutMs: 10_000, requestTimeoutMs: 15_000 }
export const CONNECTION_DEFAULTS = { connectTimeoutMs: 10_000, pingIntervalMs: 25_000, pongTimeoutMs: 10_000 }
