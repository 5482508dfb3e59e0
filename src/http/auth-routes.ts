import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import Type from 'typebox'
import type { AccessTokens } from '../auth/access-tokens.js'
import type { ExternalIssuer } from '../auth/external-issuer.js'
import type { KeyRing } from '../auth/key-ring.js'
import type { Accounts } from '../chat/accounts.js'
import type { Sessions } from '../auth/sessions.js'
import { ChatError } from '../errors.js'
import { CHANGES_STATE, operation } from '../protocol/operations.js'
import { parseId } from './params.js'
import {
  ExternalBody,
  JwkSet,
  LoginBody,
  PasswordBody,
  RefreshBody,
  RegisterBody,
  RevokeBody,
  SessionList,
  StatusReply,
  TokenBody,
  TokenReply,
} from '../protocol/rest.js'

const SessionParams = Type.Object({ id: Type.String() })

export interface AuthRoutesOptions {
  accounts: Accounts
  sessions: Sessions
  accessTokens: AccessTokens
  keyRing: KeyRing
  externalIssuer: ExternalIssuer | undefined
}

/** Token replies must not be stored by any cache on the way (RFC 6749 §5.1). */
const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store')

/** Registration, login and logout, passwords, devices, tokens and the trusted issuer. docs/api.md describes each. */
export async function authRoutes(app: FastifyInstance, options: AuthRoutesOptions) {
  const { accounts, sessions, accessTokens } = options
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  const userAgent = (request: FastifyRequest) => request.headers['user-agent']

  async function startCookieSession(request: FastifyRequest, reply: FastifyReply, userId: number) {
    app.setSessionCookie(reply, await sessions.startCookie(userId, userAgent(request)))
  }

  async function tokenReply(reply: FastifyReply, userId: number, family: { sessionId: number; refreshToken: string }) {
    noStore(reply)
    return {
      access_token: await accessTokens.sign({ userId, sessionId: family.sessionId }),
      token_type: 'Bearer' as const,
      expires_in: accessTokens.ttlSeconds,
      refresh_token: family.refreshToken,
    }
  }

  api.post(
    '/auth/register',
    { schema: { body: RegisterBody, ...operation('auth', 'Register, and sign in with a session cookie', 'none', { 201: StatusReply }, [...CHANGES_STATE, 409, 429, 503]) } },
    async (request, reply) => {
      const userId = await accounts.register(request.body, request.ip)
      await startCookieSession(request, reply, userId)
      return reply.code(201).send({ status: 'success' })
    },
  )

  // A new session with a new token, whatever cookie the request carried: a session fixed in advance is never adopted.
  api.post(
    '/auth/login',
    { schema: { body: LoginBody, ...operation('auth', 'Log in with a password: a new session cookie', 'none', { 200: StatusReply }, [...CHANGES_STATE, 401, 429, 503]) } },
    async (request, reply) => {
      const userId = await accounts.login(request.body.username, request.body.password, request.ip)
      await startCookieSession(request, reply, userId)
      return { status: 'success' }
    },
  )

  api.post(
    '/auth/logout',
    { onRequest: app.requireUser, schema: operation('auth', 'End the session of the credential presented', 'user', { 200: StatusReply }, CHANGES_STATE) },
    async (request, reply) => {
      await sessions.revoke(request.user.userId, request.user.sessionId)
      app.clearSessionCookie(reply)
      return { status: 'success' }
    },
  )

  api.post(
    '/auth/password',
    { onRequest: app.requireUser, schema: { body: PasswordBody, ...operation('auth', 'Set or change the password; ends every other session', 'user', { 200: StatusReply }, [...CHANGES_STATE, 429]) } },
    async (request) => {
      await accounts.setPassword(request.user, request.body.password, request.body.currentPassword)
      return { status: 'success' }
    },
  )

  api.get('/auth/sessions', { onRequest: app.requireUser, schema: operation('auth', "The user's sessions (devices)", 'user', { 200: SessionList }) }, async (request) => ({
    sessions: await sessions.list(request.user),
  }))

  api.delete(
    '/auth/sessions/:id',
    { onRequest: app.requireUser, schema: { params: SessionParams, ...operation('auth', 'End one of the user\'s sessions', 'user', { 200: StatusReply }, [...CHANGES_STATE, 404]) } },
    async (request, reply) => {
      const sessionId = parseId(request.params.id, 'session')
      await sessions.revoke(request.user.userId, sessionId)
      if (sessionId === request.user.sessionId && request.credential === 'cookie') app.clearSessionCookie(reply)
      return { status: 'success' }
    },
  )

  api.post(
    '/auth/token',
    { schema: { body: TokenBody, ...operation('auth', 'Start a token session: with a password, or with no body and a credential', 'optional', { 200: TokenReply }, [...CHANGES_STATE, 429]) } },
    async (request, reply) => {
      let userId: number
      if (request.body) userId = await accounts.login(request.body.username, request.body.password, request.ip)
      else {
        await app.requireUser(request)
        userId = request.user.userId
      }
      return tokenReply(reply, userId, await sessions.startTokenFamily(userId, userAgent(request)))
    },
  )

  api.post(
    '/auth/token/refresh',
    { schema: { body: RefreshBody, ...operation('auth', 'A new access token and a new refresh token for a refresh token', 'none', { 200: TokenReply }, [...CHANGES_STATE, 401, 503]) } },
    async (request, reply) => {
      const family = await sessions.rotate(request.body.refresh_token)
      return tokenReply(reply, family.userId, family)
    },
  )

  // With a refresh token, revokes its family (an unknown one is not an error, as in RFC 7009);
  // without one, the session of the credential presented.
  api.delete(
    '/auth/token',
    { schema: { body: RevokeBody, ...operation('auth', "Revoke a refresh token's family, or with no body the session presented", 'optional', { 200: StatusReply }, CHANGES_STATE) } },
    async (request) => {
      if (request.body) await sessions.revokeByRefreshToken(request.body.refresh_token)
      else {
        await app.requireUser(request)
        await sessions.revoke(request.user.userId, request.user.sessionId)
      }
      return { status: 'success' }
    },
  )

  api.get('/.well-known/jwks.json', { schema: operation('auth', 'The public keys that verify access tokens', 'none', { 200: JwkSet }) }, async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300')
    return options.keyRing.current().publicJwks
  })

  const external = options.externalIssuer
  if (external) {
    api.post(
      '/auth/external',
      { schema: { body: ExternalBody, ...operation('auth', "Sign in with a trusted issuer's JWT: a session cookie", 'none', { 200: StatusReply }, [...CHANGES_STATE, 401, 409, 503]) } },
      async (request, reply) => {
        const identity = await external.verify(request.body.token)
        if (!identity) throw new ChatError('unauthorised', 'the token is not valid')
        await startCookieSession(request, reply, await accounts.signInExternal(identity))
        return { status: 'success' }
      },
    )
  }
}
