import type { ColumnType, Generated } from 'kysely'

/** Table types, written by hand to match migrations/. bigint columns are read as numbers (see db.ts). */
export interface Database {
  users: UsersTable
  sessions: SessionsTable
  refresh_tokens: RefreshTokensTable
  conversations: ConversationsTable
  messages: MessagesTable
  memberships: MembershipsTable
  blocks: BlocksTable
  signing_keys: SigningKeysTable
  mentions: MentionsTable
  message_search: MessageSearchTable
  invites: InvitesTable
  reactions: ReactionsTable
}

type CreatedAt = ColumnType<Date, Date | undefined, never>

export interface UsersTable {
  id: Generated<number>
  username: string
  password_hash: string | null
  created_at: CreatedAt
  role: ColumnType<Role, Role | undefined, Role>
  display_name: string | null
  /** Set while an admin has disabled the account; no session of it is valid meanwhile. */
  disabled_at: Date | null
  /** Set when an admin deleted the account; its row stays, anonymised, as the author of its messages. */
  deleted_at: Date | null
  /** For an account provisioned by the trusted external issuer: that issuer and its subject. */
  external_issuer: string | null
  external_subject: string | null
  /** The optional profile (migrations/0007): seen by the user and admins; the names by anyone signed in. */
  first_name: string | null
  last_name: string | null
  /** Unique in any letter case where set. */
  email: string | null
  phone: string | null
}

export type Role = 'user' | 'admin'
export type SessionKind = 'cookie' | 'token'

export interface SessionsTable {
  id: Generated<number>
  user_id: number
  /** The cookie token's hash; null for a token session, whose credentials are its refresh tokens. */
  token_hash: Buffer | null
  kind: ColumnType<SessionKind, SessionKind | undefined, never>
  user_agent: string | null
  created_at: CreatedAt
  last_seen_at: ColumnType<Date, Date | undefined, Date>
  expires_at: Date
}

/** A token session's refresh tokens: the current one, and those already exchanged (used_at set). */
export interface RefreshTokensTable {
  token_hash: Buffer
  session_id: number
  created_at: CreatedAt
  used_at: Date | null
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
  kind: ColumnType<ConversationKind, ConversationKind | undefined, never>
  /** 'lowId:highId' of a direct conversation's users: one conversation per pair. */
  direct_key: string | null
  /** The newest post's time, or the creation time: the inbox's order. */
  activity_at: ColumnType<Date, Date | undefined, Date>
  /** The newest post's seq. */
  last_message_seq: ColumnType<number, number | undefined, number>
  /** The time of the newest log row: each row's time is at least this, so times follow seq order. */
  last_event_at: ColumnType<Date, Date | undefined, Date>
}

/**
 * open: anyone logged in reads, posts and joins. private: members only. direct: two members only.
 * public: anyone reads, logged in or not; members post.
 */
export type ConversationKind = 'open' | 'private' | 'direct' | 'public'
export type MemberRole = 'owner' | 'member'

export interface MembershipsTable {
  conversation_id: number
  user_id: number
  role: ColumnType<MemberRole, MemberRole | undefined, MemberRole>
  joined_at: CreatedAt
  /** Every seq up to this one is read; it never moves backwards. */
  read_seq: ColumnType<number, number | undefined, number>
  /** "Delete chat": out of the inbox until a post after this seq. */
  hidden_seq: number | null
}

export interface BlocksTable {
  blocker_id: number
  blocked_id: number
  created_at: CreatedAt
}

/**
 * The conversation log: one row per seq. A 'message' row is a post; a 'tombstone' row records a
 * delete, an 'edit' row an edit (its text is the new text), and the member rows a member added or
 * removed (subject_id; author_id is who did it). A reaction row records an emoji (its text) added to
 * or removed from a message (target_seq) by a user (author_id), with the emoji's count after it.
 */
export interface MessagesTable {
  conversation_id: number
  seq: number
  kind: LogKind
  author_id: number
  text: string
  created_at: CreatedAt
  /** Set on a 'message' row when it is deleted; its text is scrubbed at the same time. */
  deleted_at: Date | null
  /** On a 'tombstone' or 'edit' row: the seq of the message it deletes or edits. */
  target_seq: number | null
  /** Idempotency key chosen by the author's client. */
  client_msg_id: string | null
  /** On a 'message' row: when its text was last edited. */
  edited_at: Date | null
  /** On a member row: the member added or removed. */
  subject_id: number | null
  /** On a 'message' row that replies to another: that message's seq (migrations/0011). */
  reply_to_seq: ColumnType<number | null, number | null | undefined, never>
  /** On a reaction row: how many users had its emoji on the message after it (migrations/0010). */
  reaction_count: number | null
}

export type LogKind = 'message' | 'tombstone' | 'edit' | 'member_added' | 'member_removed' | 'reaction_added' | 'reaction_removed'

/** Who reacted to which message with which emoji, now: one row each (migrations/0010). */
export interface ReactionsTable {
  conversation_id: number
  message_seq: number
  emoji: string
  user_id: number
  created_at: CreatedAt
}

/** The shared signing keys of a deployment without JWT_KEYS (migrations/0006). */
export interface SigningKeysTable {
  kid: string
  /** A private JWK: whoever can read this table can sign access tokens. */
  private_jwk: ColumnType<unknown, string, never>
  signs_from: ColumnType<Date, Date, never>
}

/** Who a live post mentions, among those it may (migrations/0011). */
export interface MentionsTable {
  conversation_id: number
  seq: number
  user_id: number
}

/** One row per live message, kept by triggers on messages (migrations/0009); read by storage/search.ts. */
export interface MessageSearchTable {
  conversation_id: number
  seq: number
  /** The order rows were indexed in, which is the order of posting. */
  id: Generated<number>
  created_at: Date
  /** message_search_vector(text, created_at) of the message as it is now: its words and its time slices. */
  tsv: string
}

/** Invite links (migrations/0008): only the token's hash is stored; revoking deletes the row. */
export interface InvitesTable {
  id: Generated<number>
  conversation_id: number
  token_hash: Buffer
  created_by: number
  created_at: CreatedAt
  expires_at: Date | null
  /** How many joins it allows in all; null: no limit. */
  max_uses: number | null
  /** How many joins it has made. */
  uses: ColumnType<number, number | undefined, number>
}
