import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import type { Conversations } from '../chat/conversations.js'
import { LIST_DEFAULT, LIST_MAX, type Messages, REPLIES_DEFAULT } from '../chat/messages.js'
import { ChatError } from '../errors.js'
import { CHANGES_STATE, operation } from '../protocol/operations.js'
import { parseCount, parseId, parseSeq } from './params.js'
import {
  ConversationList,
  CreateConversationBody,
  EditMessageBody,
  MessageList,
  MessageShape,
  MessagesQuery,
  PostMessageBody,
  PostMessageHeaders,
  RepliesQuery,
  ReplyList,
  StatusReply,
  StatusUrlReply,
} from '../protocol/rest.js'

const ConversationParams = Type.Object({ id: Type.String() })
const MessageParams = Type.Object({ id: Type.String(), messageid: Type.String() })
/**
 * The /api/conversations routes of the specification, with paging and editing. Reading a public
 * conversation needs no login; everything else needs a valid session (401 otherwise).
 */
export async function conversationRoutes(app: FastifyInstance, options: { conversations: Conversations; messages: Messages }) {
  const { conversations, messages } = options
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  const loggedIn = { onRequest: app.requireUser }
  const anyone = { onRequest: app.identifyUser }

  api.get('/api/conversations', { ...loggedIn, schema: operation('conversations', 'The newest conversations the user can see', 'user', { 200: ConversationList }) }, async (request) => ({
    conversations: await conversations.list(request.user.userId),
  }))

  api.post(
    '/api/conversations',
    { ...loggedIn, schema: { body: CreateConversationBody, ...operation('conversations', 'Create a conversation', 'user', { 201: StatusUrlReply }, [...CHANGES_STATE, 404]) } },
    async (request, reply) => {
      const { title, kind, members } = request.body
      const { url } = await conversations.create(request.user, title, kind, members)
      return reply.code(201).header('location', url).send({ status: 'success', url })
    },
  )

  api.get(
    '/api/conversations/:id',
    {
      ...anyone,
      schema: { params: ConversationParams, querystring: MessagesQuery, ...operation('conversations', 'A page of messages; no login for a public conversation', 'optional', { 200: MessageList }, [400, 404]) },
    },
    async (request) => {
      const { N, limit, before, after } = request.query
      if (N !== undefined && limit !== undefined) throw new ChatError('invalid', 'give N or limit, not both')
      if (before !== undefined && after !== undefined) throw new ChatError('invalid', 'give before or after, not both')
      const page = {
        limit: parseCount(limit ?? N, limit === undefined ? 'N' : 'limit', LIST_DEFAULT, LIST_MAX),
        before: parseSeq(before, 'before'),
        after: parseSeq(after, 'after'),
      }
      return { messages: await messages.list(request.viewer?.userId, parseId(request.params.id, 'conversation'), page) }
    },
  )

  api.post(
    '/api/conversations/:id',
    {
      ...loggedIn,
      schema: {
        params: ConversationParams,
        body: PostMessageBody,
        headers: PostMessageHeaders,
        ...operation('conversations', 'Post a message, or a reply to one; safe to retry with an Idempotency-Key', 'user', { 201: StatusUrlReply }, [...CHANGES_STATE, 404, 429]),
      },
    },
    async (request, reply) => {
      const conversationId = parseId(request.params.id, 'conversation')
      const { text, replyTo } = request.body
      const posted = await messages.post(request.user, conversationId, text, request.headers['idempotency-key'], replyTo)
      const { url } = posted.message
      return reply.code(201).header('location', url).send({ status: 'success', url })
    },
  )

  api.get(
    '/api/conversations/:id/:messageid',
    { ...anyone, schema: { params: MessageParams, ...operation('conversations', 'One message; no login for a public conversation', 'optional', { 200: MessageShape }, [404]) } },
    async (request) =>
      messages.get(request.viewer?.userId, parseId(request.params.id, 'conversation'), parseId(request.params.messageid, 'message')),
  )

  api.patch(
    '/api/conversations/:id/:messageid',
    { ...loggedIn, schema: { params: MessageParams, body: EditMessageBody, ...operation('conversations', "Edit one's own message", 'user', { 200: MessageShape }, [...CHANGES_STATE, 404]) } },
    async (request) =>
      messages.edit(
        request.user.userId,
        parseId(request.params.id, 'conversation'),
        parseId(request.params.messageid, 'message'),
        request.body.text,
      ),
  )

  api.delete(
    '/api/conversations/:id/:messageid',
    { ...loggedIn, schema: { params: MessageParams, ...operation('conversations', "Delete one's own message", 'user', { 200: StatusReply }, [...CHANGES_STATE, 404]) } },
    async (request) => {
      const conversationId = parseId(request.params.id, 'conversation')
      await messages.remove(request.user.userId, conversationId, parseId(request.params.messageid, 'message'))
      return { status: 'success' }
    },
  )

  api.get(
    '/api/conversations/:id/:messageid/replies',
    {
      ...anyone,
      schema: {
        params: MessageParams,
        querystring: RepliesQuery,
        ...operation('conversations', 'A page of the replies to a message; no login for a public conversation', 'optional', { 200: ReplyList }, [400, 404]),
      },
    },
    async (request) => {
      const { limit, after } = request.query
      return messages.replies(
        request.viewer?.userId,
        parseId(request.params.id, 'conversation'),
        parseId(request.params.messageid, 'message'),
        parseCount(limit, 'limit', REPLIES_DEFAULT, LIST_MAX),
        parseSeq(after, 'after'),
      )
    },
  )
}
