import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import type { Blocks } from '../chat/blocks.js'
import { type Conversations, INBOX_PAGE_MAX } from '../chat/conversations.js'
import { Username } from '../protocol/fields.js'
import { BlockBody, BlockList, DirectReply, InboxQuery, InboxReply, StatusReply, StatusUrlReply } from '../protocol/rest.js'
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
    { schema: { querystring: InboxQuery, response: { 200: InboxReply } } },
    async (request) =>
      conversations.inbox(request.user.userId, parseCount(request.query.limit, 'limit', INBOX_DEFAULT, INBOX_PAGE_MAX), request.query.cursor),
  )

  api.get(
    '/api/direct/:username',
    { schema: { params: UserParams, response: { 200: DirectReply } } },
    async (request) => {
      const { url, user } = await conversations.findDirect(request.user, request.params.username)
      return { status: 'success', url, user }
    },
  )

  api.post(
    '/api/direct/:username',
    { schema: { params: UserParams, response: { 200: StatusUrlReply, 201: StatusUrlReply } } },
    async (request, reply) => {
      const { url, created } = await conversations.openDirect(request.user, request.params.username)
      if (created) reply.code(201).header('location', url)
      return reply.send({ status: 'success', url })
    },
  )

  api.get('/api/blocks', { schema: { response: { 200: BlockList } } }, async (request) => ({ blocks: await blocks.list(request.user) }))

  api.post(
    '/api/blocks',
    { schema: { body: BlockBody, response: { 200: StatusReply, 201: StatusReply } } },
    async (request, reply) => reply.code((await blocks.block(request.user, request.body.username)) ? 201 : 200).send({ status: 'success' }),
  )

  api.delete(
    '/api/blocks/:username',
    { schema: { params: UserParams, response: { 200: StatusReply } } },
    async (request) => {
      await blocks.unblock(request.user, request.params.username)
      return { status: 'success' }
    },
  )
}
