import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import type { Invites } from '../chat/invites.js'
import { CHANGES_STATE, operation } from '../protocol/operations.js'
import { InviteList, InvitePreviewReply, NewInviteBody, NewInviteReply, StatusReply, StatusUrlReply } from '../protocol/rest.js'
import { parseId } from './params.js'

const ConversationParams = Type.Object({ id: Type.String() })
const InviteParams = Type.Object({ id: Type.String(), inviteId: Type.String() })
const TokenParams = Type.Object({ token: Type.String() })

/** Invite links: the owner's routes under the conversation, and the link's own, /api/invites/:token. docs/api.md, "Invites". */
export async function inviteRoutes(app: FastifyInstance, options: { invites: Invites }) {
  const { invites } = options
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  const conversationOf = (request: { params: { id: string } }) => parseId(request.params.id, 'conversation')

  api.post(
    '/api/conversations/:id/invites',
    {
      onRequest: app.requireUser,
      schema: { params: ConversationParams, body: NewInviteBody, ...operation('invites', 'The owner makes an invite link', 'user', { 201: NewInviteReply }, [...CHANGES_STATE, 404, 429]) },
    },
    async (request, reply) => {
      const invite = await invites.create(request.user, conversationOf(request), request.body)
      return reply.code(201).header('location', invite.url).send(invite)
    },
  )

  api.get(
    '/api/conversations/:id/invites',
    { onRequest: app.requireUser, schema: { params: ConversationParams, ...operation('invites', "The owner's list of a conversation's invites", 'user', { 200: InviteList }, [403, 404]) } },
    async (request) => ({ invites: await invites.list(request.user, conversationOf(request)) }),
  )

  api.delete(
    '/api/conversations/:id/invites/:inviteId',
    { onRequest: app.requireUser, schema: { params: InviteParams, ...operation('invites', 'The owner revokes an invite', 'user', { 200: StatusReply }, [...CHANGES_STATE, 404]) } },
    async (request) => {
      await invites.revoke(request.user, conversationOf(request), parseId(request.params.inviteId, 'invite'))
      return { status: 'success' }
    },
  )

  api.get(
    '/api/invites/:token',
    { schema: { params: TokenParams, ...operation('invites', "An invite's conversation: its title and member count, without login", 'none', { 200: InvitePreviewReply }, [404, 410, 429, 503]) } },
    async (request) => invites.preview(request.params.token, request.ip),
  )

  api.post(
    '/api/invites/:token',
    { onRequest: app.requireUser, schema: { params: TokenParams, ...operation('invites', 'Join through an invite', 'user', { 200: StatusUrlReply, 201: StatusUrlReply }, [...CHANGES_STATE, 404, 410, 429]) } },
    async (request, reply) => {
      const { url, joined } = await invites.accept(request.user, request.params.token, request.ip)
      if (joined) reply.code(201).header('location', url)
      return reply.send({ status: 'success', url })
    },
  )
}
