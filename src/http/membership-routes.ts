import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import type { Conversations } from '../chat/conversations.js'
import { MEMBERS_PAGE_MAX, type Membership } from '../chat/membership.js'
import { Username } from '../protocol/fields.js'
import { CHANGES_STATE, operation } from '../protocol/operations.js'
import { parseCount, parseId } from './params.js'
import { MemberBody, MemberList, MembersQuery, ReadBody, ReadReply, StatusReply } from '../protocol/rest.js'

const ConversationParams = Type.Object({ id: Type.String() })
const MemberParams = Type.Object({ id: Type.String(), username: Username })
/** Members, joining and leaving, read markers and "delete chat". All need a valid session. */
export async function membershipRoutes(app: FastifyInstance, options: { membership: Membership; conversations: Conversations }) {
  const { membership, conversations } = options
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  app.addHook('onRequest', app.requireUser)
  const conversationOf = (request: { params: { id: string } }) => parseId(request.params.id, 'conversation')

  api.get(
    '/api/conversations/:id/members',
    { schema: { params: ConversationParams, querystring: MembersQuery, ...operation('members', 'A page of members', 'user', { 200: MemberList }, [400, 404]) } },
    async (request) => {
      const limit = parseCount(request.query.limit, 'limit', MEMBERS_PAGE_MAX, MEMBERS_PAGE_MAX)
      const after = request.query.after === undefined ? undefined : Number(request.query.after)
      return membership.list(request.user.userId, conversationOf(request), limit, after)
    },
  )

  api.post(
    '/api/conversations/:id/members',
    { schema: { params: ConversationParams, body: MemberBody, ...operation('members', 'The owner adds someone', 'user', { 200: StatusReply, 201: StatusReply }, [...CHANGES_STATE, 404]) } },
    async (request, reply) => {
      const added = await membership.add(request.user, conversationOf(request), request.body.username)
      return reply.code(added ? 201 : 200).send({ status: 'success' })
    },
  )

  api.delete(
    '/api/conversations/:id/members/:username',
    { schema: { params: MemberParams, ...operation('members', 'The owner removes someone', 'user', { 200: StatusReply }, [...CHANGES_STATE, 404]) } },
    async (request) => {
      await membership.remove(request.user, conversationOf(request), request.params.username)
      return { status: 'success' }
    },
  )

  api.post(
    '/api/conversations/:id/join',
    { schema: { params: ConversationParams, ...operation('members', 'Join an open conversation', 'user', { 200: StatusReply, 201: StatusReply }, [...CHANGES_STATE, 404]) } },
    async (request, reply) => {
      const joined = await membership.join(request.user, conversationOf(request))
      return reply.code(joined ? 201 : 200).send({ status: 'success' })
    },
  )

  api.post(
    '/api/conversations/:id/leave',
    { schema: { params: ConversationParams, ...operation('members', 'Leave a conversation', 'user', { 200: StatusReply }, [...CHANGES_STATE, 404]) } },
    async (request) => {
      await membership.leave(request.user, conversationOf(request))
      return { status: 'success' }
    },
  )

  api.post(
    '/api/conversations/:id/read',
    { schema: { params: ConversationParams, body: ReadBody, ...operation('members', "Move the user's read marker", 'user', { 200: ReadReply }, [...CHANGES_STATE, 404]) } },
    async (request) => ({ status: 'success', ...(await conversations.markRead(request.user, conversationOf(request), request.body.seq)) }),
  )

  api.post(
    '/api/conversations/:id/hide',
    { schema: { params: ConversationParams, ...operation('members', "Take a conversation out of the user's inbox until its next message", 'user', { 200: StatusReply }, [...CHANGES_STATE, 404]) } },
    async (request) => {
      await conversations.hide(request.user.userId, conversationOf(request))
      return { status: 'success' }
    },
  )
}
