import type { ColumnType, Generated } from 'kysely'

/** Table types, written by hand to match migrations/. bigint columns are read as numbers (see db.ts). */
export interface Database {
  users: UsersTable
  sessions: SessionsTable
  conversations: ConversationsTable
  messages: MessagesTable
}

type CreatedAt = ColumnType<Date, Date | undefined, never>

export interface UsersTable {
  id: Generated<number>
  username: string
  password_hash: string | null
  created_at: CreatedAt
}

export interface SessionsTable {
  id: Generated<number>
  user_id: number
  token_hash: Buffer
  user_agent: string | null
  created_at: CreatedAt
  last_seen_at: ColumnType<Date, Date | undefined, Date>
  expires_at: Date
}

export interface ConversationsTable {
  id: Generated<number>
  title: string
  created_by: number
  created_at: CreatedAt
  /** Highest seq handed out; the row lock on it orders commits per conversation. */
  last_seq: ColumnType<number, number | undefined, number>
  /** Messages not deleted, kept in step in the same transaction as each post and delete. */
  message_count: ColumnType<number, number | undefined, number>
}

/** The conversation log: one row per seq. A 'message' row is a post; a 'tombstone' row records a delete. */
export interface MessagesTable {
  conversation_id: number
  seq: number
  kind: 'message' | 'tombstone'
  author_id: number
  text: string
  created_at: CreatedAt
  /** Set on a 'message' row when it is deleted; its text is scrubbed at the same time. */
  deleted_at: Date | null
  /** On a 'tombstone' row: the seq of the message it deletes. */
  target_seq: number | null
  /** Idempotency key chosen by the author's client. */
  client_msg_id: string | null
}
