import { type BackoffOptions, backoffDelay } from './backoff.js'
import type { Clock } from './clock.js'
import type { Credentials } from './credentials.js'
import type { Endpoints } from './endpoints.js'
import { ApiError, ClosedError, NetworkError } from './errors.js'
import type { ErrorBody } from './types.js'

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'

export interface CallOptions {
  /** Gives the request up (it rejects with ClosedError). */
  signal?: AbortSignal
  /**
   * Times a request that is safe to repeat (a GET, or a post with an idempotency key) is tried again
   * after no answer, 408, 429 or 5xx, on the next node, with backoff. Default 3; others are never repeated.
   */
  retries?: number
}

export interface RequestSpec extends CallOptions {
  method: Method
  path: string
  query?: Record<string, string | number | undefined>
  /** A JSON body; `null` sends the literal null (POST /auth/token with a credential). */
  body?: unknown
  headers?: Record<string, string>
  /** Whether sending it twice does what sending it once does. */
  repeatable?: boolean
  /**
   * The request makes a credential (login, registration, a refresh) rather than presenting one: it
   * carries none of the client's, and a 401 means what it sent was wrong, not that the session ended.
   */
  anonymous?: boolean
  /** Told the status of a 2xx answer (201 created, 200 already so). */
  onStatus?: (status: number) => void
}

export interface HttpDeps {
  endpoints: Endpoints
  credentials: Credentials
  fetch: typeof fetch
  clock: Clock
  random: () => number
  backoff: BackoffOptions
  /** How long one attempt may wait for its answer. */
  timeoutMs: number
  /** Called when a request's credential was refused and could not be renewed. */
  onUnauthorised: () => void
  /** Called before a request is tried again: why (a status, `network` or `timeout`). */
  onRetry: (path: string, reason: string) => void
}

const DEFAULT_RETRIES = 3
const retryableStatus = (status: number) => status === 408 || status === 429 || status >= 500

/** REST requests: JSON both ways, the credential on each, failover and retries where they are safe. */
export class Http {
  constructor(private readonly deps: HttpDeps) {}

  async request<T>(spec: RequestSpec): Promise<T> {
    const retries = spec.repeatable || spec.method === 'GET' ? (spec.retries ?? DEFAULT_RETRIES) : 0
    let renewed = false
    for (let attempt = 0; ; attempt++) {
      let response: Response
      try {
        response = await this.attempt(spec)
      } catch (err) {
        if (err instanceof ClosedError || attempt >= retries) throw err
        this.deps.onRetry(spec.path, (err as NetworkError).timedOut ? 'timeout' : 'network')
        this.deps.endpoints.next()
        await this.pause(backoffDelay(attempt, this.deps.backoff, this.deps.random), spec.signal)
        continue
      }
      this.deps.credentials.absorb(response.headers)
      if (response.ok) {
        spec.onStatus?.(response.status)
        return (response.status === 204 ? undefined : await response.json()) as T
      }
      const error = new ApiError(response.status, await errorBody(response), retryAfter(response))
      if (response.status === 401 && !spec.anonymous) {
        if (this.deps.credentials.hasTokens && !renewed) {
          renewed = true
          if ((await this.deps.credentials.refresh()) === 'renewed') {
            attempt--
            continue
          }
        }
        this.deps.onUnauthorised()
      }
      if (!retryableStatus(response.status) || attempt >= retries) throw error
      this.deps.onRetry(spec.path, String(response.status))
      if (response.status >= 500) this.deps.endpoints.next()
      const wait = error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : backoffDelay(attempt, this.deps.backoff, this.deps.random)
      await this.pause(wait, spec.signal)
    }
  }

  private async attempt(spec: RequestSpec): Promise<Response> {
    const url = new URL(this.deps.endpoints.current + spec.path)
    for (const [key, value] of Object.entries(spec.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value))
    const headers: Record<string, string> = { ...(spec.anonymous ? {} : this.deps.credentials.headers()), ...spec.headers }
    if (spec.body !== undefined) headers['content-type'] = 'application/json'
    const timeout = new AbortController()
    const timer = this.deps.clock.setTimeout(() => timeout.abort(), this.deps.timeoutMs)
    const abort = () => timeout.abort()
    spec.signal?.addEventListener('abort', abort, { once: true })
    try {
      return await this.deps.fetch(url, {
        method: spec.method,
        headers,
        body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
        credentials: 'include',
        signal: timeout.signal,
      })
    } catch (err) {
      if (spec.signal?.aborted) throw new ClosedError('the request was given up')
      const timedOut = timeout.signal.aborted
      throw new NetworkError(`${timedOut ? 'no answer in time' : 'no connection'} from ${url.origin}: ${(err as Error).message}`, timedOut)
    } finally {
      this.deps.clock.clearTimeout(timer)
      spec.signal?.removeEventListener('abort', abort)
    }
  }

  private pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new ClosedError('the request was given up'))
      const timer = this.deps.clock.setTimeout(done, ms)
      const abort = () => {
        this.deps.clock.clearTimeout(timer)
        reject(new ClosedError('the request was given up'))
      }
      signal?.addEventListener('abort', abort, { once: true })
      function done() {
        signal?.removeEventListener('abort', abort)
        resolve()
      }
    })
  }
}

async function errorBody(response: Response): Promise<ErrorBody> {
  const body = (await response.json().catch(() => undefined)) as Partial<ErrorBody> | undefined
  return { status: typeof body?.status === 'string' ? body.status : response.statusText, ...(typeof body?.message === 'string' ? { message: body.message } : {}) }
}

function retryAfter(response: Response): number | undefined {
  const value = Number(response.headers.get('retry-after'))
  return Number.isFinite(value) && value >= 0 && response.headers.has('retry-after') ? value : undefined
}
