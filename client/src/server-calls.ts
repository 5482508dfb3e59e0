import type { CallOptions, Http } from './http.js'
import type { NewUserFields, Readiness, User, UserChanges, UserPage } from './types.js'

/** A reply that says it worked and where the thing is: a conversation or a message. */
export interface Located {
  status: string
  url: string
}

/** What the server answers when something was done: created (201) or already so (200). */
export interface Outcome {
  /** False when it was already so (a member already added, a user already blocked). */
  created: boolean
}

/** A message's place, from its url: `/api/conversations/12/5` is conversation 12, seq 5. */
export function seqOf(url: string): number {
  return Number(url.slice(url.lastIndexOf('/') + 1))
}

/** A conversation's id, from its url or a message's. */
export function conversationIdOf(url: string): number {
  return Number(/\/api\/conversations\/(\d+)/.exec(url)?.[1])
}

/** Path segments, each URL-encoded. */
export const path = (...parts: (string | number)[]) => parts.map((part) => encodeURIComponent(String(part))).join('/')

/**
 * The calls about the server rather than the user's chats: administration and health. Api (api.ts)
 * adds the rest; this part stands alone so that neither file grows past what one reads at once.
 */
export class ServerCalls {
  constructor(protected readonly http: Http) {}

  // Administration (admins only).

  createUser(fields: NewUserFields, options?: CallOptions): Promise<User> {
    return this.http.request({ method: 'POST', path: '/admin/users', body: fields, ...options })
  }

  users(page: { after?: string; limit?: number } = {}, options?: CallOptions): Promise<UserPage> {
    return this.http.request({ method: 'GET', path: '/admin/users', query: page, ...options })
  }

  user(userId: number, options?: CallOptions): Promise<User> {
    return this.http.request({ method: 'GET', path: `/admin/users/${path(userId)}`, ...options })
  }

  updateUser(userId: number, changes: UserChanges, options?: CallOptions): Promise<User> {
    return this.http.request({ method: 'PATCH', path: `/admin/users/${path(userId)}`, body: changes, ...options })
  }

  deleteUser(userId: number, options?: CallOptions): Promise<void> {
    return this.status({ method: 'DELETE', path: `/admin/users/${path(userId)}`, ...options })
  }

  // Health.

  health(options?: CallOptions): Promise<{ status: string }> {
    return this.http.request({ method: 'GET', path: '/healthz', anonymous: true, ...options })
  }

  readiness(options?: CallOptions): Promise<Readiness> {
    return this.http.request({ method: 'GET', path: '/readyz', anonymous: true, retries: 0, ...options })
  }

  /** The public signing keys (JWKS), to check access tokens elsewhere. */
  signingKeys(options?: CallOptions): Promise<{ keys: Record<string, string>[] }> {
    return this.http.request({ method: 'GET', path: '/.well-known/jwks.json', anonymous: true, ...options })
  }

  protected async status(spec: Parameters<Http['request']>[0]): Promise<void> {
    await this.http.request(spec)
  }

  protected outcome(spec: Parameters<Http['request']>[0]): Promise<Outcome> {
    let created = false
    return this.http.request({ ...spec, onStatus: (status) => (created = status === 201) }).then(() => ({ created }))
  }
}
