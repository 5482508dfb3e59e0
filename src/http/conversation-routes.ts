import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import type { Conversations } from '../chat/conversations.js'
import { ClientMsgId, MessageText, Title } from '../chat/fields.js'
import { LIST_DEFAULT, LIST_MAX, type Messages } from '../chat/messages.js'
import { parseCount, parseId } from './params.js'
import { MessageShape, StatusReply, StatusUrlReply } from './schemas.js'

const ConversationParams = Type.Object({ id: Type.String() })
const MessageParams = Type.Object({ id: Type.String(), messageid: Type.String() })
const CreateConversationBody = Type.Object({ title: Title })
const PostMessageBody = Type.Object({ text: MessageText })
const PostMessageHeaders = Type.Object({
  'idempotency-key': Type.Optional(ClientMsgId),
})
const ListQuery = Type.Object({ N: Type.Optional(Type.String()) })

const ConversationList = Type.Object({
  conversations: Type.Array(Type.Object({ title: Type.String(), msgcount: Type.Integer(), url: Type.String() })),
})
const MessageList = Type.Object({ messages: Type.Array(MessageShape) })

type Static<T extends Type.TSchema> = Type.Static<T>

/** The /api routes of the specification. Every one needs a valid session (401 otherwise). */
export async function conversationRoutes(app: FastifyInstance, options: { conversations: Conversations; messages: Messages }) {
  const { conversations, messages } = options
  app.addHook('onRequest', app.requireUser)

  app.get('/api/conversations', { schema: { response: { 200: ConversationList } } }, async () => ({
    conversations: await conversations.list(),
  }))

  app.post<{ Body: Static<typeof CreateConversationBody> }>(
    '/api/conversations',
    { schema: { body: CreateConversationBody, response: { 201: StatusUrlReply } } },
    async (request, reply) => {
      const { url } = await conversations.create(request.user.userId, request.body.title)
      return reply.code(201).header('location', url).send({ status: 'success', url })
    },
  )

  app.get<{ Params: Static<typeof ConversationParams>; Querystring: Static<typeof ListQuery> }>(
    '/api/conversations/:id',
    { schema: { params: ConversationParams, querystring: ListQuery, response: { 200: MessageList } } },
    async (request) => ({
      messages: await messages.listRecent(
        parseId(request.params.id, 'conversation'),
        parseCount(request.query.N, 'N', LIST_DEFAULT, LIST_MAX),
      ),
    }),
  )

  app.post<{ Params: Static<typeof ConversationParams>; Body: Static<typeof PostMessageBody>; Headers: Static<typeof PostMessageHeaders> }>(
    '/api/conversations/:id',
    { schema: { params: ConversationParams, body: PostMessageBody, headers: PostMessageHeaders, response: { 201: StatusUrlReply } } },
    async (request, reply) => {
      const conversationId = parseId(request.params.id, 'conversation')
      const posted = await messages.post(request.user, conversationId, request.body.text, request.headers['idempotency-key'])
      const { url } = posted.message
      return reply.code(201).header('location', url).send({ status: 'success', url })
    },
  )

  app.get<{ Params: Static<typeof MessageParams> }>(
    '/api/conversations/:id/:messageid',
    { schema: { params: MessageParams, response: { 200: MessageShape } } },
    async (request) => messages.get(parseId(request.params.id, 'conversation'), parseId(request.params.messageid, 'message')),
  )

  app.delete<{ Params: Static<typeof MessageParams> }>(
    '/api/conversations/:id/:messageid',
    { schema: { params: MessageParams, response: { 200: StatusReply } } },
    async (request) => {
      const conversationId = parseId(request.params.id, 'conversation')
      await messages.remove(request.user.userId, conversationId, parseId(request.params.messageid, 'message'))
      return { status: 'success' }
    },
  )
}
