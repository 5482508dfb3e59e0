import type { LogRow } from '../storage/messages.js'

/** The message shape of the REST API, shared by WebSocket events. */
export interface MessageView {
  user: string
  text: string
  timestamp: string
  url: string
}

export const conversationUrl = (conversationId: number) => `/api/conversations/${conversationId}`
export const messageUrl = (conversationId: number, seq: number) => `/api/conversations/${conversationId}/${seq}`

export function toMessageView(row: LogRow): MessageView {
  return {
    user: row.username,
    text: row.text,
    timestamp: row.created_at.toISOString(),
    url: messageUrl(row.conversation_id, row.seq),
  }
}
