import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import type { Blocks } from '../chat/blocks.js'
import { type Conversations, INBOX_PAGE_MAX } from '../chat/conversations.js'
import { Username } from '../protocol/fields.js'
import { BlockBody, BlockList, DirectReply, InboxQuery, InboxReply, StatusReply, StatusUrlReply } from '../protocol/rest.js'
import { CHANGES_STATE, operation } from '../protocol/operations.js'
import { parseCount } from './params.js'

const UserParams = Type.Object({ username: Username })
const INBOX_DEFAULT = 30

/** The inbox, direct conversations and blocks: a user's own view of the people they talk to. All need a valid session. */
export async function peopleRoutes(app: FastifyInstance, options: { conversations: Conversations; blocks: Blocks }) {
  const { conversations, blocks } = options
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  app.addHook('onRequest', app.requireUser)

  api.get(
    '/api/inbox',
    { schema: { querystring: InboxQuery, ...operation('people', "A page of the user's conversations, most recent activity first", 'user', { 200: InboxReply }, [400]) } },
    async (request) =>
      conversations.inbox(request.user.userId, parseCount(request.query.limit, 'limit', INBOX_DEFAULT, INBOX_PAGE_MAX), request.query.cursor),
  )

  api.get(
    '/api/direct/:username',
    { schema: { params: UserParams, ...operation('people', 'The direct conversation with a user, if there is one', 'user', { 200: DirectReply }, [400, 404]) } },
    async (request) => {
      const { url, user } = await conversations.findDirect(request.user, request.params.username)
      return { status: 'success', url, user }
    },
  )

  api.post(
    '/api/direct/:username',
    { schema: { params: UserParams, ...operation('people', 'Find or start the direct conversation with a user', 'user', { 200: StatusUrlReply, 201: StatusUrlReply }, [...CHANGES_STATE, 404]) } },
    async (request, reply) => {
      const { url, created } = await conversations.openDirect(request.user, request.params.username)
      if (created) reply.code(201).header('location', url)
      return reply.send({ status: 'success', url })
    },
  )

  api.get('/api/blocks', { schema: operation('people', 'The users this user blocks', 'user', { 200: BlockList }) }, async (request) => ({
    blocks: await blocks.list(request.user),
  }))

  api.post(
    '/api/blocks',
    { schema: { body: BlockBody, ...operation('people', 'Block a user', 'user', { 200: StatusReply, 201: StatusReply }, [...CHANGES_STATE, 404]) } },
    async (request, reply) => reply.code((await blocks.block(request.user, request.body.username)) ? 201 : 200).send({ status: 'success' }),
  )

  api.delete(
    '/api/blocks/:username',
    { schema: { params: UserParams, ...operation('people', 'Unblock a user', 'user', { 200: StatusReply }, [...CHANGES_STATE, 404]) } },
    async (request) => {
      await blocks.unblock(request.user, request.params.username)
      return { status: 'success' }
    },
  )
}
