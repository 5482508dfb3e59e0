import cookie from '@fastify/cookie'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { SessionUser, Sessions } from '../chat/sessions.js'
import { ChatError } from '../errors.js'

export const SESSION_COOKIE = 'sid'

declare module 'fastify' {
  interface FastifyInstance {
    /** A hook that refuses the request with 401 unless it carries a valid session, and sets request.user. */
    requireUser: (request: FastifyRequest) => Promise<void>
    /** Sets the session cookie on a reply. */
    setSessionCookie: (reply: FastifyReply, token: string) => void
  }
  interface FastifyRequest {
    /** Set by requireUser; read it only behind that hook. */
    user: SessionUser
  }
}

export interface SessionAuthOptions {
  sessions: Sessions
  cookieSecure: boolean
  sessionTtlSeconds: number
}

/** Session cookies: HttpOnly, SameSite=Lax, Secure when configured. The cookie holds the token; Postgres holds its hash. */
export const sessionAuth = fp(
  async function sessionAuth(app: FastifyInstance, options: SessionAuthOptions) {
    await app.register(cookie)
    app.decorateRequest('user', null as unknown as SessionUser)

    app.decorate('requireUser', async (request: FastifyRequest) => {
      const user = await options.sessions.authenticate(request.cookies[SESSION_COOKIE])
      if (!user) throw new ChatError('unauthorised', 'a valid session is required')
      request.user = user
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
  },
  { name: 'session-auth' },
)
