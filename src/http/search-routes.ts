import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { Search, SearchOrder } from '../chat/search.js'
import { ChatError } from '../errors.js'
import { SEARCH_PAGE_DEFAULT, SEARCH_PAGE_MAX } from '../protocol/limits.js'
import { operation } from '../protocol/operations.js'
import { SearchQuery, SearchReply } from '../protocol/rest.js'
import { parseCount, parseId } from './params.js'

const ORDERS: readonly SearchOrder[] = ['newest', 'rank']

function parseOrder(raw: string | undefined): SearchOrder {
  if (raw === undefined) return 'newest'
  if ((ORDERS as readonly string[]).includes(raw)) return raw as SearchOrder
  throw new ChatError('invalid', 'order must be newest or rank')
}

/** GET /api/search: the messages the user may read now that match a query. Needs a valid session. */
export async function searchRoutes(app: FastifyInstance, options: { search: Search }) {
  const api = app.withTypeProvider<TypeBoxTypeProvider>()
  api.get(
    '/api/search',
    {
      onRequest: app.requireUser,
      schema: { querystring: SearchQuery, ...operation('search', 'Messages the user may read that match a query, newest first or by rank', 'user', { 200: SearchReply }, [400, 404]) },
    },
    async (request) => {
      const { q, conversation, order, limit, cursor } = request.query
      return options.search.search(request.user.userId, {
        q,
        conversationId: conversation === undefined ? undefined : parseId(conversation, 'conversation'),
        order: parseOrder(order),
        limit: parseCount(limit, 'limit', SEARCH_PAGE_DEFAULT, SEARCH_PAGE_MAX),
        cursor,
      })
    },
  )
}
