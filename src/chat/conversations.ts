import { ChatError } from '../errors.js'
import { type InboxCursor, findDirect, insertConversation, listInbox, listVisibleConversations } from '../storage/conversations.js'
import { type Db, isUniqueViolation } from '../storage/db.js'
import { hideConversation, insertMember, memberIds, moveReadMarker } from '../storage/memberships.js'
import type { ConversationKind } from '../storage/schema.js'
import type { AccessCheck } from './access.js'
import type { Membership } from './membership.js'
import { pageOf, rowsToRead } from './pages.js'
import type { Author } from './messages.js'
import { refuseAcrossBlock, userNamed, usersNamed } from './people.js'
import type { Publisher } from './publisher.js'
import { conversationUrl } from '../protocol/events.js'
import type { MessageView } from '../protocol/wire.js'
import { toMessageView } from './views.js'

export const CONVERSATION_LIST_LIMIT = 100
export const INBOX_PAGE_MAX = 100
/** Unread counts stop here: a page's cost stays bounded however much is unread. */
const UNREAD_COUNT_MAX = 1000

export interface ConversationView {
  title: string
  msgcount: number
  url: string
}

export interface InboxEntry {
  id: number
  url: string
  kind: ConversationKind
  /** The title, or for a direct conversation the other user's name. */
  title: string
  /** For a direct conversation: the other user. */
  user: { username: string; displayName: string | null; online: boolean } | null
  lastMessage: MessageView | null
  lastSeq: number
  readSeq: number
  unread: number
  /** Unread messages that mention the user. */
  mentions: number
  activity: string
}

/** Postgres' text form of a timestamptz, which keeps its microseconds. */
const PG_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?[+-](\d{2})(?::(\d{2}))?$/
/** The largest offset from UTC, in hours, that Postgres accepts. */
const PG_OFFSET_HOURS_MAX = 15
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

const isLeapYear = (year: number) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)

/**
 * Whether the text is a timestamp the server could have written: Postgres' form, naming a real
 * day (no month 13, no February 30, no year 0) and time of day (no hour 24, no leap second), at an
 * offset Postgres accepts. Anything else would be refused by Postgres, or name another instant.
 */
function isPgTimestamp(text: string): boolean {
  const parts = PG_TIMESTAMP.exec(text)
  if (!parts) return false
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, offsetHours = 0, offsetMinutes = 0] = parts
    .slice(1)
    .map((part) => Number(part ?? 0))
  const daysInMonth = (DAYS_IN_MONTH[month - 1] ?? 0) + (month === 2 && isLeapYear(year) ? 1 : 0)
  return (
    year >= 1 &&
    day >= 1 &&
    day <= daysInMonth &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetHours <= PG_OFFSET_HOURS_MAX &&
    offsetMinutes <= 59
  )
}

function encodeInboxCursor(cursor: InboxCursor): string {
  return Buffer.from(JSON.stringify([cursor.activityAt, cursor.id])).toString('base64url')
}

function decodeInboxCursor(raw: string): InboxCursor {
  try {
    const [activityAt, id] = JSON.parse(Buffer.from(raw, 'base64url').toString()) as unknown[]
    if (typeof activityAt === 'string' && isPgTimestamp(activityAt) && Number.isSafeInteger(id) && (id as number) > 0)
      return { activityAt, id: id as number }
  } catch {
    // falls through to the error below
  }
  throw new ChatError('invalid', 'cursor is not one this server gave')
}

const directKeyOf = (a: number, b: number) => (a < b ? `${a}:${b}` : `${b}:${a}`)

export interface ConversationsDeps {
  db: Db
  access: AccessCheck
  membership: Membership
  publish: Publisher
  /** Which of these users are online now. */
  onlineAmong: (userIds: number[]) => Promise<Set<number>>
}

export function createConversations(deps: ConversationsDeps) {
  const { db, access, membership, publish } = deps

  /** The direct conversation's other user, or 404, or 400 for oneself. */
  async function counterpart(me: Author, username: string): Promise<Author> {
    const other = await userNamed(db, username)
    if (other.userId === me.userId) throw new ChatError('invalid', 'a direct conversation needs another user')
    return other
  }

  return {
    /**
     * Creates a conversation owned by its creator, with the named users as members. Nothing is
     * created unless every one exists (404 naming those who do not) and no block stands between
     * them and the creator.
     */
    async create(owner: Author, title: string, kind: Exclude<ConversationKind, 'direct'> = 'open', members: string[] = []) {
      const others: Author[] = []
      for (const member of await usersNamed(db, members)) {
        if (member.userId === owner.userId || others.some((o) => o.userId === member.userId)) continue
        await refuseAcrossBlock(db, owner.userId, member.userId)
        others.push(member)
      }
      const id = await db.transaction().execute((trx) => insertConversation(trx, { title, kind, createdBy: owner.userId }))
      await membership.addChecked(owner, id, others)
      return { id, url: conversationUrl(id) }
    },

    /** The newest conversations the user can see: open and public ones, and those they are a member of. */
    async list(userId: number): Promise<ConversationView[]> {
      const rows = await listVisibleConversations(db, userId, CONVERSATION_LIST_LIMIT)
      return rows.map((r) => ({ title: r.title, msgcount: r.message_count, url: conversationUrl(r.id) }))
    },

    /** The direct conversation between the user and `username`; 404 when there is none yet. */
    async findDirect(me: Author, username: string) {
      const other = await counterpart(me, username)
      const id = await findDirect(db, directKeyOf(me.userId, other.userId))
      if (id === undefined) throw new ChatError('not_found', 'no direct conversation with this user yet')
      return { id, url: conversationUrl(id), user: other.username }
    },

    /** Finds or starts the direct conversation with `username`. Nobody may start one across a block. */
    async openDirect(me: Author, username: string) {
      const other = await counterpart(me, username)
      await refuseAcrossBlock(db, me.userId, other.userId)
      const directKey = directKeyOf(me.userId, other.userId)
      const existing = await findDirect(db, directKey)
      if (existing !== undefined) return { id: existing, url: conversationUrl(existing), user: other.username, created: false }
      let id: number
      try {
        id = await db.transaction().execute(async (trx) => {
          const id = await insertConversation(trx, { title: '', kind: 'direct', createdBy: me.userId, directKey })
          await insertMember(trx, id, other.userId)
          return id
        })
      } catch (err) {
        // The other user started it at the same moment.
        const raced = isUniqueViolation(err) ? await findDirect(db, directKey) : undefined
        if (raced === undefined) throw err
        return { id: raced, url: conversationUrl(raced), user: other.username, created: false }
      }
      const url = conversationUrl(id)
      await publish.notice([me.userId, other.userId], { type: 'conversation.added', conversationId: id, url, by: me.username })
      return { id, url, user: other.username, created: true }
    },

    /** One page of the user's conversations, most recent activity first, and the cursor of the next page (null at the end). */
    async inbox(userId: number, limit: number, cursor?: string): Promise<{ conversations: InboxEntry[]; next: string | null }> {
      const after = cursor === undefined ? undefined : decodeInboxCursor(cursor)
      const { rows, next } = pageOf(await listInbox(db, userId, { limit: rowsToRead(limit), after, unreadMax: UNREAD_COUNT_MAX }), limit, (r) =>
        encodeInboxCursor({ activityAt: r.activity_at, id: r.id }),
      )
      const online = await deps.onlineAmong(rows.flatMap((r) => (r.other === null ? [] : [r.other.id])))
      const conversations = rows.map((r): InboxEntry => {
        const last = r.last_message
        return {
          id: r.id,
          url: conversationUrl(r.id),
          kind: r.kind,
          title: r.other?.username ?? r.title,
          user: r.other && { username: r.other.username, displayName: r.other.display_name, online: online.has(r.other.id) },
          lastMessage:
            last === null
              ? null
              : toMessageView({
                  conversation_id: r.id,
                  seq: last.seq,
                  username: last.username,
                  text: last.text,
                  created_at: new Date(last.created_at),
                  edited_at: last.edited_at === null ? null : new Date(last.edited_at),
                }),
          lastSeq: r.last_seq,
          readSeq: r.read_seq,
          unread: r.unread,
          mentions: r.mentions,
          activity: new Date(r.activity_at).toISOString(),
        }
      })
      return { conversations, next }
    },

    /**
     * Moves the user's read marker forward (never back; a seq past the end means the end). Their other
     * devices get the new marker and unread count; in a direct conversation the other user gets a receipt.
     */
    async markRead(user: Author, conversationId: number, seq: number): Promise<{ seq: number; unread: number; mentions: number }> {
      const { kind } = await access.asMember(conversationId, user.userId)
      const marker = await moveReadMarker(db, conversationId, user.userId, seq, UNREAD_COUNT_MAX)
      if (!marker) throw new ChatError('not_found', 'conversation not found')
      const result = { seq: marker.read_seq, unread: marker.unread, mentions: marker.mentions }
      if (marker.moved) {
        await publish.notice([user.userId], { type: 'read', conversationId, ...result })
        if (kind === 'direct') {
          const others = (await memberIds(db, conversationId)).filter((id) => id !== user.userId)
          await publish.notice(others, { type: 'receipt', conversationId, user: user.username, seq: result.seq })
        }
      }
      return result
    },

    /** "Delete chat": out of the user's inbox (on all their devices) until a new post arrives. */
    async hide(userId: number, conversationId: number): Promise<void> {
      await access.asMember(conversationId, userId)
      await hideConversation(db, conversationId, userId)
      await publish.notice([userId], { type: 'conversation.hidden', conversationId })
    },
  }
}

export type Conversations = ReturnType<typeof createConversations>
