import { BEARER_SUBPROTOCOL_PREFIX, WS_SUBPROTOCOL } from '../../src/protocol/limits.js'
import { type Clock, Timer } from './clock.js'
import { ApiError } from './errors.js'
import type { Tokens } from './types.js'

/**
 * How the client proves who it is:
 * - `cookie`: the session cookie. A browser keeps it (HttpOnly, out of reach of scripts); elsewhere
 *   the client keeps it itself, from Set-Cookie, and sends it as a header.
 * - `tokens`: an access token and a refresh token (docs/api.md, POST /auth/token). The access token
 *   is renewed before it expires, and the socket offers it as a subprotocol.
 */
export type AuthMode = 'cookie' | 'tokens'

const SESSION_COOKIE = 'sid'
/** Renew this long before the access token expires, or at four fifths of its life if that is sooner. */
const REFRESH_MARGIN_MS = 60_000
/** After a refresh that got no answer, try again this much later. */
const REFRESH_RETRY_MS = 5_000

/** How a refresh went: new tokens; the server refused (the session ended); or no answer (try later). */
export type RefreshOutcome = 'renewed' | 'ended' | 'unreachable'

export interface TokenState {
  accessToken: string
  refreshToken: string
  /** Clock time at which the access token expires. */
  expiresAt: number
}

export class Credentials {
  private tokens: TokenState | undefined
  /** The session cookie, where the client keeps it itself (not in a browser). */
  private cookie: string | undefined
  private refreshing: Promise<RefreshOutcome> | undefined
  private readonly refreshTimer: Timer

  constructor(
    readonly mode: AuthMode,
    private readonly clock: Clock,
    /** Trades a refresh token for new tokens; throws when the server refuses it. */
    private readonly exchange: (refreshToken: string) => Promise<Tokens>,
    cookie?: string,
  ) {
    this.refreshTimer = new Timer(clock)
    this.cookie = cookie
  }

  /** Headers that carry the credential on a REST request. */
  headers(): Record<string, string> {
    if (this.tokens) return { authorization: `Bearer ${this.tokens.accessToken}` }
    return this.cookie ? { cookie: this.cookie } : {}
  }

  /** The session cookie as a header, where the client keeps it itself. */
  cookieHeaders(): Record<string, string> {
    return this.cookie ? { cookie: this.cookie } : {}
  }

  /** Headers for the WebSocket handshake where the socket implementation can send them (not in browsers). */
  socketHeaders(): Record<string, string> {
    return !this.tokens && this.cookie ? { cookie: this.cookie } : {}
  }

  /** Subprotocols offered on the socket: the access token, for browsers, which cannot set headers there. */
  socketProtocols(): string[] {
    return this.tokens ? [WS_SUBPROTOCOL, BEARER_SUBPROTOCOL_PREFIX + this.tokens.accessToken] : []
  }

  get hasTokens(): boolean {
    return this.tokens !== undefined
  }

  /** The tokens, for an application that stores them between runs. */
  get current(): TokenState | undefined {
    return this.tokens ? { ...this.tokens } : undefined
  }

  /** Keeps a session cookie that a response set, or forgets one it cleared. Browsers do this themselves. */
  absorb(headers: Headers): void {
    const setCookies = typeof headers.getSetCookie === 'function' ? headers.getSetCookie() : []
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';')
      const [name, value = ''] = pair.trim().split('=')
      if (name !== SESSION_COOKIE) continue
      const cleared = value === '' || attributes.some((attribute) => /^\s*max-age\s*=\s*0\s*$/i.test(attribute))
      this.cookie = cleared ? undefined : `${SESSION_COOKIE}=${value}`
    }
  }

  setTokens(tokens: Tokens | TokenState): void {
    this.tokens =
      'access_token' in tokens
        ? { accessToken: tokens.access_token, refreshToken: tokens.refresh_token, expiresAt: this.clock.now() + tokens.expires_in * 1000 }
        : { ...tokens }
    const lifeMs = this.tokens.expiresAt - this.clock.now()
    this.refreshTimer.set(Math.min(lifeMs - REFRESH_MARGIN_MS, lifeMs * 0.8), () => void this.refresh())
  }

  /** Forgets every credential: after logout, or when the session ended. */
  clear(): void {
    this.tokens = undefined
    this.cookie = undefined
    this.refreshTimer.clear()
  }

  /**
   * Renews the tokens with the refresh token; concurrent callers share one exchange. A refusal ends
   * the session (the tokens are forgotten); no answer keeps them and tries again a little later.
   */
  refresh(): Promise<RefreshOutcome> {
    const tokens = this.tokens
    if (!tokens) return Promise.resolve('ended')
    this.refreshing ??= this.exchange(tokens.refreshToken)
      .then((renewed): RefreshOutcome => {
        if (this.tokens === tokens) this.setTokens(renewed)
        return 'renewed'
      })
      .catch((err): RefreshOutcome => {
        if (this.tokens !== tokens) return this.tokens ? 'renewed' : 'ended'
        if (err instanceof ApiError && err.status < 500 && err.status !== 408 && err.status !== 429) {
          this.clear()
          return 'ended'
        }
        this.refreshTimer.set(REFRESH_RETRY_MS, () => void this.refresh())
        return 'unreachable'
      })
      .finally(() => (this.refreshing = undefined))
    return this.refreshing
  }
}
