import type { Credentials } from './credentials.js'
import type { Http } from './http.js'
import type { Registration, Tokens } from './types.js'

/**
 * The routes that make a credential (docs/api.md: register, login, the trusted issuer, tokens), each
 * leaving what it made in `credentials`: a cookie session, or in `tokens` mode a token family.
 */
export type ProfileFields = Omit<Registration, 'username' | 'password'>

export class SignIn {
  constructor(
    private readonly http: Http,
    private readonly credentials: Credentials,
  ) {}

  /** `profile`: the optional names, email and phone (docs/api.md, "Profiles"). */
  async register(username: string, password?: string, profile: ProfileFields = {}): Promise<void> {
    const body = password === undefined ? { username, ...profile } : { username, password, ...profile }
    await this.http.request({ method: 'POST', path: '/auth/register', body, anonymous: true })
    if (this.credentials.mode === 'tokens') await this.tradeCookieForTokens()
  }

  async login(username: string, password: string): Promise<void> {
    if (this.credentials.mode === 'cookie') {
      await this.http.request({ method: 'POST', path: '/auth/login', body: { username, password }, anonymous: true })
      return
    }
    this.credentials.setTokens(await this.http.request<Tokens>({ method: 'POST', path: '/auth/token', body: { username, password }, anonymous: true }))
  }

  async loginExternal(token: string): Promise<void> {
    await this.http.request({ method: 'POST', path: '/auth/external', body: { token }, anonymous: true })
    if (this.credentials.mode === 'tokens') await this.tradeCookieForTokens()
  }

  /** Ends the session of the credential in use, on every node. */
  async logout(): Promise<void> {
    await this.http.request({ method: 'POST', path: '/auth/logout', retries: 1 })
  }

  /** Trades a refresh token for new tokens (the one sent is used up). */
  exchange(refreshToken: string): Promise<Tokens> {
    return this.http.request({ method: 'POST', path: '/auth/token/refresh', body: { refresh_token: refreshToken }, anonymous: true })
  }

  /** After a sign-in that made a cookie session: a token family in its place, and the cookie session ended. */
  private async tradeCookieForTokens(): Promise<void> {
    this.credentials.setTokens(await this.http.request<Tokens>({ method: 'POST', path: '/auth/token', body: null }))
    await this.http.request({ method: 'POST', path: '/auth/logout', anonymous: true, headers: this.credentials.cookieHeaders() }).catch(() => {})
  }
}
