import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import { type Accounts, USERS_PAGE_MAX } from '../chat/accounts.js'
import { Username } from '../protocol/fields.js'
import { NewUser, ProfilePatch, PublicProfile, StatusReply, UserList, UserPatch, UserShape, UsersQuery } from '../protocol/rest.js'
import { CHANGES_STATE, operation } from '../protocol/operations.js'
import { parseCount, parseId } from './params.js'

const UserParams = Type.Object({ id: Type.String() })
const UsernameParams = Type.Object({ username: Username })

const USERS_PAGE_DEFAULT = 50

/** The signed-in user's profile (GET and PATCH /api/me), and anyone's public one (GET /api/users/:username). */
export async function profileRoutes(app: FastifyInstance, options: { accounts: Accounts }) {
  const { accounts } = options
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  api.get('/api/me', { onRequest: app.requireUser, schema: operation('profile', "The signed-in user's profile", 'user', { 200: UserShape }) }, async (request) =>
    accounts.profile(request.user.userId),
  )
  api.patch(
    '/api/me',
    {
      onRequest: app.requireUser,
      schema: { body: ProfilePatch, ...operation('profile', 'Set or clear the display name, names, email and phone', 'user', { 200: UserShape }, [...CHANGES_STATE, 409]) },
    },
    async (request) => accounts.updateProfile(request.user.userId, request.body),
  )
  api.get(
    '/api/users/:username',
    { onRequest: app.requireUser, schema: { params: UsernameParams, ...operation('profile', "A user's public profile: names, never email or phone", 'user', { 200: PublicProfile }, [404]) } },
    async (request) => accounts.publicProfile(request.params.username),
  )
}

/** User management under /admin: admins only (401 without a credential, 403 for anyone else). */
export async function adminRoutes(app: FastifyInstance, options: { accounts: Accounts }) {
  const { admin } = options.accounts
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  app.addHook('onRequest', app.requireAdmin)

  api.post(
    '/admin/users',
    { schema: { body: NewUser, ...operation('admin', 'Create a user', 'admin', { 201: UserShape }, [...CHANGES_STATE, 409]) } },
    async (request, reply) => reply.code(201).send(await admin.create(request.body)),
  )

  api.get(
    '/admin/users',
    { schema: { querystring: UsersQuery, ...operation('admin', 'A page of users, in id order', 'admin', { 200: UserList }, [400]) } },
    async (request) => {
      const after = Number(request.query.after ?? 0)
      const limit = parseCount(request.query.limit, 'limit', USERS_PAGE_DEFAULT, USERS_PAGE_MAX)
      return admin.list(after, limit)
    },
  )

  api.get(
    '/admin/users/:id',
    { schema: { params: UserParams, ...operation('admin', 'One user', 'admin', { 200: UserShape }, [404]) } },
    async (request) => admin.get(parseId(request.params.id, 'user')),
  )

  api.patch(
    '/admin/users/:id',
    { schema: { params: UserParams, body: UserPatch, ...operation('admin', 'Rename, reset the password, change the role, disable or enable', 'admin', { 200: UserShape }, [...CHANGES_STATE, 404, 409]) } },
    async (request) => admin.update(request.user, parseId(request.params.id, 'user'), request.body),
  )

  api.delete(
    '/admin/users/:id',
    { schema: { params: UserParams, ...operation('admin', 'Delete a user; their messages stay', 'admin', { 200: StatusReply }, [...CHANGES_STATE, 404]) } },
    async (request) => {
      await admin.remove(request.user, parseId(request.params.id, 'user'))
      return { status: 'success' }
    },
  )
}
