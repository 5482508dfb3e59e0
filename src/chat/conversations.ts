import type { Db } from '../storage/db.js'
import { insertConversation, listConversations } from '../storage/conversations.js'
import { conversationUrl } from './views.js'

export const TITLE_MAX_CHARS = 200
export const CONVERSATION_LIST_LIMIT = 100

export interface ConversationView {
  title: string
  msgcount: number
  url: string
}

export function createConversations(deps: { db: Db }) {
  return {
    async create(userId: number, title: string): Promise<{ id: number; url: string }> {
      const id = await insertConversation(deps.db, title, userId)
      return { id, url: conversationUrl(id) }
    },

    /** The newest conversations first. */
    async list(): Promise<ConversationView[]> {
      const rows = await listConversations(deps.db, CONVERSATION_LIST_LIMIT)
      return rows.map((r) => ({ title: r.title, msgcount: r.message_count, url: conversationUrl(r.id) }))
    },
  }
}

export type Conversations = ReturnType<typeof createConversations>
