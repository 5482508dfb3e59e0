import cookie from '@fastify/cookie'
import cors from '@fastify/cors'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Compile } from 'typebox/compile'
import type { AccessTokens } from '../auth/access-tokens.js'
import { SESSION_COOKIE, originAllowed, presentedBasic, presentedBearer, presentsBearerHeader } from '../auth/credentials.js'
import type { SessionUser, Sessions } from '../auth/sessions.js'
import type { Accounts, SignedIn } from '../chat/accounts.js'
import { ChatError } from '../errors.js'
import { LoginBody } from '../protocol/rest.js'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

export type CredentialKind = 'cookie' | 'bearer' | 'basic'

/** A request signed in with HTTP Basic belongs to no session (session ids start at 1). */
const NO_SESSION = 0
/** A Basic username and password obey the rules of a login body's. */
const loginFields = Compile(LoginBody)

declare module 'fastify' {
  interface FastifyInstance {
    /** A hook that refuses the request with 401 unless it carries a valid credential, and sets request.user. */
    requireUser: (request: FastifyRequest) => Promise<void>
    /** requireUser for a request that presents a credential; one that presents none goes on as nobody (request.viewer undefined). */
    identifyUser: (request: FastifyRequest) => Promise<void>
    /** requireUser, then 403 unless the user is an admin. With allowBasicAuth, HTTP Basic too (a login per request). */
    requireAdmin: (request: FastifyRequest) => Promise<void>
    /**
     * Signs in with the request's `Authorization: Basic` as a password login does (same rate limits,
     * same timing): the user, or undefined when the request presents no Basic header; 400 for one
     * that does not decode, 401 for wrong credentials.
     */
    signInWithBasic: (request: FastifyRequest) => Promise<SignedIn | undefined>
    setSessionCookie: (reply: FastifyReply, token: string) => void
    clearSessionCookie: (reply: FastifyReply) => void
  }
  interface FastifyRequest {
    /** Set by requireUser; read it only behind that hook. */
    user: SessionUser
    /** How request.user was authenticated. */
    credential: CredentialKind
    /** Set by identifyUser: the user, or undefined for someone not logged in. */
    viewer: SessionUser | undefined
  }
}

export interface AuthenticationOptions {
  sessions: Sessions
  accessTokens: AccessTokens
  cookieSecure: boolean
  sessionTtlSeconds: number
  allowedOrigins: readonly string[]
  /** The one password login (chat/accounts.ts), which HTTP Basic goes through. */
  login: Accounts['login']
  /** Whether admin routes accept HTTP Basic (ALLOW_BASIC_AUTH): meant for HTTPS only. */
  allowBasicAuth: boolean
}

const isJson = (contentType: string) => contentType.split(';')[0]?.trim().toLowerCase() === 'application/json'

/**
 * CORS for pages of the allowed origins, with their cookies: what their scripts may send (every
 * method and header of the API) and read (Retry-After, Location). A browser may cache a preflight
 * for a route this long (Chromium keeps one 2 hours at most).
 */
const CORS_RULES = {
  credentials: true,
  methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
  allowedHeaders: ['Content-Type', 'Authorization', 'Idempotency-Key'],
  exposedHeaders: ['Retry-After', 'Location'],
  maxAge: 7200,
  // An OPTIONS request from an allowed origin without Access-Control-Request-Method is answered as a
  // preflight too, rather than with @fastify/cors's text/plain 400.
  strictPreflight: false,
}

/**
 * Who is asking: a bearer access token when one is presented (a cookie is then ignored), else the
 * session cookie. Cookies: HttpOnly, SameSite=Lax, Secure when configured; the cookie holds the
 * token, Postgres its hash.
 *
 * Every request that changes state and carries no bearer token (so may ride on a browser's cookie)
 * must send its body as JSON (415 otherwise), and its Origin, when it has one, must be this node's
 * own or an allowed one (403 otherwise): a cross-site form cannot send JSON, and a cross-site
 * script cannot send it without a CORS preflight, which is granted to the allowed origins only.
 * A request from any other origin gets no CORS header, so its page reads no answer either; a
 * preflight from one is the JSON 404.
 */
export const authentication = fp(
  async function authentication(app: FastifyInstance, options: AuthenticationOptions) {
    const { sessions, accessTokens } = options
    // First, so that its headers are on the refusals below too, for the pages that may read them.
    await app.register(cors, {
      delegator: (request, answer) =>
        answer(null, { ...CORS_RULES, origin: request.headers.origin !== undefined && originAllowed(request.headers, options.allowedOrigins) }),
    })
    await app.register(cookie)
    app.decorateRequest('user', null as unknown as SessionUser)
    app.decorateRequest('credential', 'cookie')
    app.decorateRequest('viewer', undefined)

    app.addHook('onRequest', async (request) => {
      if (SAFE_METHODS.has(request.method) || presentsBearerHeader(request.headers)) return
      const contentType = request.headers['content-type']
      const hasBody = contentType !== undefined || Number(request.headers['content-length'] ?? 0) > 0 || 'transfer-encoding' in request.headers
      if (hasBody && !(contentType && isJson(contentType)))
        throw Object.assign(new Error('requests that change state must send application/json'), { statusCode: 415 })
      if (!originAllowed(request.headers, options.allowedOrigins)) throw new ChatError('forbidden', 'origin not allowed')
    })

    async function byBearer(token: string): Promise<SessionUser | undefined> {
      const claims = token === '' ? undefined : await accessTokens.verify(token)
      if (!claims) return undefined
      const user = await sessions.byId(claims.sessionId)
      return user?.userId === claims.userId ? user : undefined
    }

    const requireUser = async (request: FastifyRequest) => {
      const bearer = presentedBearer(request.headers)
      const user = bearer === undefined ? await sessions.byCookie(request.cookies[SESSION_COOKIE]) : await byBearer(bearer)
      if (!user) throw new ChatError('unauthorised', 'a valid session or access token is required')
      request.user = user
      request.credential = bearer === undefined ? 'cookie' : 'bearer'
    }
    app.decorate('requireUser', requireUser)
    app.decorate('identifyUser', async (request: FastifyRequest) => {
      if (presentedBearer(request.headers) === undefined && request.cookies[SESSION_COOKIE] === undefined) return
      await requireUser(request)
      request.viewer = request.user
    })
    async function signInWithBasic(request: FastifyRequest): Promise<SignedIn | undefined> {
      const basic = presentedBasic(request.headers)
      if (!basic) return undefined
      if (!loginFields.Check(basic)) throw new ChatError('invalid', 'the Basic username or password breaks the rules of a login (docs/api.md)')
      return options.login(basic.username, basic.password, request.ip)
    }
    app.decorate('signInWithBasic', signInWithBasic)
    app.decorate('requireAdmin', async (request: FastifyRequest) => {
      const basic = options.allowBasicAuth ? await signInWithBasic(request) : undefined
      if (basic) {
        request.user = { ...basic, sessionId: NO_SESSION }
        request.credential = 'basic'
      } else await requireUser(request)
      if (request.user.role !== 'admin') throw new ChatError('forbidden', 'admins only')
    })

    app.decorate('setSessionCookie', (reply: FastifyReply, token: string) => {
      reply.setCookie(SESSION_COOKIE, token, {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: options.cookieSecure,
        maxAge: options.sessionTtlSeconds,
      })
    })
    app.decorate('clearSessionCookie', (reply: FastifyReply) => {
      reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax', secure: options.cookieSecure })
    })
  },
  { name: 'authentication' },
)
