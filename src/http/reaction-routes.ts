import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import type { Reactions } from '../chat/reactions.js'
import { ReactionEmoji } from '../protocol/fields.js'
import { CHANGES_STATE, operation } from '../protocol/operations.js'
import { ReactionBody, ReactionReply } from '../protocol/rest.js'
import { parseId } from './params.js'

const MessageParams = Type.Object({ id: Type.String(), messageid: Type.String() })
const ReactionParams = Type.Object({ id: Type.String(), messageid: Type.String(), emoji: ReactionEmoji })

/** Adding and taking back one's emoji reactions to a message. Both need a valid session. */
export async function reactionRoutes(app: FastifyInstance, options: { reactions: Reactions }) {
  const { reactions } = options
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  app.addHook('onRequest', app.requireUser)
  const messageOf = (params: { id: string; messageid: string }) => [parseId(params.id, 'conversation'), parseId(params.messageid, 'message')] as const

  api.post(
    '/api/conversations/:id/:messageid/reactions',
    {
      schema: {
        params: MessageParams,
        body: ReactionBody,
        ...operation('reactions', 'React to a message with an emoji; again changes nothing', 'user', { 200: ReactionReply, 201: ReactionReply }, [...CHANGES_STATE, 404, 429]),
      },
    },
    async (request, reply) => {
      const change = await reactions.add(request.user, ...messageOf(request.params), request.body.emoji)
      return reply.code(change.changed ? 201 : 200).send({ status: 'success', ...change })
    },
  )

  api.delete(
    '/api/conversations/:id/:messageid/reactions/:emoji',
    {
      schema: {
        params: ReactionParams,
        ...operation('reactions', "Take back one's reaction to a message; again changes nothing", 'user', { 200: ReactionReply }, [...CHANGES_STATE, 404, 429]),
      },
    },
    async (request) => ({ status: 'success', ...(await reactions.remove(request.user, ...messageOf(request.params), request.params.emoji)) }),
  )
}
