import type { LogRow } from '../storage/messages.js'

/** The message shape of the REST API, shared by WebSocket events. */
export interface MessageView {
  user: string
  text: string
  timestamp: string
  url: string
  /** When the text was last edited; null if never. */
  edited: string | null
}

export const conversationUrl = (conversationId: number) => `/api/conversations/${conversationId}`
export const messageUrl = (conversationId: number, seq: number) => `/api/conversations/${conversationId}/${seq}`

export function toMessageView(row: Pick<LogRow, 'username' | 'text' | 'created_at' | 'edited_at' | 'conversation_id' | 'seq'>): MessageView {
  return {
    user: row.username,
    text: row.text,
    timestamp: row.created_at.toISOString(),
    url: messageUrl(row.conversation_id, row.seq),
    edited: row.edited_at === null ? null : row.edited_at.toISOString(),
  }
}
