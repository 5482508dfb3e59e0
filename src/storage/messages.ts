import { sql } from 'kysely'
import { Batcher } from './batcher.js'
import { type Db, type Trx, isUniqueViolation } from './db.js'
import { type ReplyTarget, replyTargetOf } from './replies.js'
import type { LogKind } from './schema.js'

/** One row of the conversation log with its author's name. */
export interface LogRow {
  conversation_id: number
  seq: number
  kind: LogKind
  username: string
  text: string
  created_at: Date
  deleted_at: Date | null
  target_seq: number | null
  edited_at: Date | null
  /** On a member row: the member added or removed, by name and by id. */
  subject: string | null
  subject_id: number | null
  /** On a reply: the message it replies to, as it is now. */
  reply_to: ReplyTarget | null
}

const logColumns = [
  'messages.conversation_id',
  'messages.seq',
  'messages.kind',
  'users.username',
  'messages.text',
  'messages.created_at',
  'messages.deleted_at',
  'messages.target_seq',
  'messages.edited_at',
  'subjects.username as subject',
  'messages.subject_id',
  replyTargetOf('messages').as('reply_to'),
] as const

/** messages with its author's and its subject's names, ready for logColumns. */
const logRows = (db: Db | Trx) =>
  db
    .selectFrom('messages')
    .innerJoin('users', 'users.id', 'messages.author_id')
    .leftJoin('users as subjects', 'subjects.id', 'messages.subject_id')

/** A place in a conversation's log: its seq, and its time, which never goes down as seq goes up. */
export interface LogPosition {
  seq: number
  at: Date
}

/**
 * Takes the conversation's next seq for a log row that is not a post (a delete, an edit, a member
 * change), holding the row lock until the transaction ends: that lock makes seq gapless and commit
 * order equal seq order. The row's time is read under the lock too, so it is not earlier than any
 * row before it. countChange is -1 for a delete (one message fewer). Resolves to undefined when the
 * conversation does not exist. Posts take their seqs in append_messages.
 */
export async function takeLogSeq(trx: Trx, conversationId: number, countChange: 0 | -1 = 0): Promise<LogPosition | undefined> {
  const row = await trx
    .updateTable('conversations')
    .set({
      last_seq: sql`last_seq + 1`,
      message_count: sql`message_count + ${countChange}`,
      last_event_at: sql`greatest(clock_timestamp(), last_event_at)`,
    })
    .where('id', '=', conversationId)
    .returning(['last_seq', 'last_event_at'])
    .executeTakeFirst()
  return row && { seq: row.last_seq, at: row.last_event_at }
}

export interface MessageToAppend {
  conversationId: number
  authorId: number
  text: string
  clientMsgId: string | undefined
  /** The seq of the message this one replies to. */
  replyTo: number | undefined
  /** The lower-case names the text mentions (protocol/mentions.ts). */
  mentions: readonly string[]
}

/**
 * What append_messages made of a message: its seq, the message it replies to and the users it
 * mentions (those who may be: migrations/0011); or why it was refused: the conversation does not
 * exist or is hidden from the author (not_found), the author may read but not post (forbidden), a
 * block stands between the two users of a direct conversation (blocked), the reply's target is no
 * message of the conversation as of now (reply_not_found) or was deleted (reply_deleted). The
 * first three are chat/access.ts' rule of who may post, applied again in SQL; access.ts says why.
 */
export type Appended =
  | { outcome: 'ok'; seq: number; createdAt: Date; replyTo: ReplyTarget | undefined; mentioned: number[] }
  | { outcome: 'not_found' | 'forbidden' | 'blocked' | 'reply_not_found' | 'reply_deleted' }

interface AppendedRow {
  i: number
  outcome: Appended['outcome']
  seq: number | null
  created_at: Date
  reply_user: string | null
  reply_text: string | null
  /** pg reads an int8[] as strings. */
  mentioned: string[]
}

/**
 * Appends messages to any number of conversations with one call of append_messages
 * (migrations/0011): one round trip and one commit. Each accepted message gets the next seq of its
 * conversation, in the order given. A client id used before fails the whole statement; the batch is
 * then written one message at a time, so that only the retried message fails (with 23505).
 */
async function appendMessages(db: Db, messages: readonly MessageToAppend[]): Promise<PromiseSettledResult<Appended>[]> {
  const column = <T>(pick: (m: MessageToAppend) => T) => messages.map(pick)
  let rows: AppendedRow[]
  try {
    const result = await sql<AppendedRow>`
      SELECT * FROM append_messages(${column((m) => m.conversationId)}, ${column((m) => m.authorId)},
                                    ${column((m) => m.text)}, ${column((m) => m.clientMsgId ?? null)},
                                    ${column((m) => m.replyTo ?? null)}::int8[], ${column((m) => m.mentions.join(' '))}::text[])`.execute(db)
    rows = result.rows
  } catch (err) {
    if (messages.length === 1 || !isUniqueViolation(err)) throw err
    return Promise.all(
      messages.map((message) =>
        appendMessages(db, [message]).then(
          ([outcome]) => outcome as PromiseSettledResult<Appended>,
          (reason: unknown): PromiseRejectedResult => ({ status: 'rejected', reason }),
        ),
      ),
    )
  }
  const byIndex = new Map(rows.map((row) => [row.i, row]))
  return messages.map((message, index) => {
    const row = byIndex.get(index + 1)
    if (!row) return { status: 'rejected', reason: new Error('append_messages left a message out') }
    if (row.outcome !== 'ok') return { status: 'fulfilled', value: { outcome: row.outcome } }
    // created_at is the time append_messages read under the conversation's lock, the row's own.
    const replyTo =
      message.replyTo === undefined ? undefined : { seq: message.replyTo, user: row.reply_user as string, text: row.reply_text as string, deleted: false }
    const value: Appended = { outcome: 'ok', seq: row.seq as number, createdAt: row.created_at, replyTo, mentioned: row.mentioned.map(Number) }
    return { status: 'fulfilled', value }
  })
}

/** Posts written together in one statement at most, and such statements in flight per node at most. */
const APPEND_BATCH_MAX = 256
const APPENDS_IN_FLIGHT = 1

/**
 * Appends a message, batched with the others of the same event-loop turn (and, while a statement
 * runs, with those that come meanwhile) into one call of append_messages, one such statement in
 * flight at a time. `onBatch` is told each statement's number of posts.
 */
export function createAppender(db: Db, onBatch: (posts: number) => void): (message: MessageToAppend) => Promise<Appended> {
  const batcher = new Batcher<MessageToAppend, Appended>((batch) => appendMessages(db, batch), {
    maxBatch: APPEND_BATCH_MAX,
    maxConcurrent: APPENDS_IN_FLIGHT,
    onBatch,
  })
  return (message) => batcher.load(message)
}

export interface LogEntry extends LogPosition {
  conversationId: number
  kind: Exclude<LogKind, 'message'>
  authorId: number
  /** An edit's new text. */
  text?: string
  /** The message a delete or an edit is about. */
  targetSeq?: number
  /** The member a member row is about. */
  subjectId?: number
}

/** Records a delete, an edit or a member change in the log, at the position takeLogSeq gave it. */
export async function insertLogEntry(trx: Trx, entry: LogEntry): Promise<void> {
  await trx
    .insertInto('messages')
    .values({
      conversation_id: entry.conversationId,
      seq: entry.seq,
      created_at: entry.at,
      kind: entry.kind,
      author_id: entry.authorId,
      text: entry.text ?? '',
      target_seq: entry.targetSeq ?? null,
      subject_id: entry.subjectId ?? null,
    })
    .execute()
}

export async function findByClientMsgId(
  db: Db,
  conversationId: number,
  authorId: number,
  clientMsgId: string,
): Promise<LogRow | undefined> {
  return logRows(db)
    .select(logColumns)
    .where('messages.conversation_id', '=', conversationId)
    .where('messages.author_id', '=', authorId)
    .where('messages.client_msg_id', '=', clientMsgId)
    .executeTakeFirst()
}

/** Which live messages to list: the newest, those before a seq, or those after one; at most `limit`. */
export type MessagePage = { limit: number; before?: number; after?: number }

/** Live messages (not deleted), oldest first: the newest `limit`, or the `limit` before or after a seq. */
export async function listMessages(db: Db, conversationId: number, page: MessagePage): Promise<LogRow[]> {
  let query = logRows(db)
    .select(logColumns)
    .where('messages.conversation_id', '=', conversationId)
    .where('messages.kind', '=', 'message')
    .where('messages.deleted_at', 'is', null)
  if (page.before !== undefined) query = query.where('messages.seq', '<', page.before)
  if (page.after !== undefined) {
    return query.where('messages.seq', '>', page.after).orderBy('messages.seq', 'asc').limit(page.limit).execute()
  }
  const newestFirst = await query.orderBy('messages.seq', 'desc').limit(page.limit).execute()
  return newestFirst.reverse()
}

/** A message that is not deleted. */
export async function findMessage(db: Db | Trx, conversationId: number, seq: number): Promise<LogRow & { author_id: number } | undefined> {
  return logRows(db)
    .select([...logColumns, 'messages.author_id'])
    .where('messages.conversation_id', '=', conversationId)
    .where('messages.seq', '=', seq)
    .where('messages.kind', '=', 'message')
    .where('messages.deleted_at', 'is', null)
    .executeTakeFirst()
}

/** Marks a message deleted and scrubs its text. Resolves to false when it was already gone. */
export async function markDeleted(trx: Trx, conversationId: number, seq: number): Promise<boolean> {
  const result = await trx
    .updateTable('messages')
    .set({ deleted_at: sql`now()`, text: '' })
    .where('conversation_id', '=', conversationId)
    .where('seq', '=', seq)
    .where('kind', '=', 'message')
    .where('deleted_at', 'is', null)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/** Replaces a live message's text and stamps it edited at `at`, the time of the edit's log row. */
export async function applyEdit(trx: Trx, conversationId: number, seq: number, text: string, at: Date): Promise<void> {
  await trx
    .updateTable('messages')
    .set({ text, edited_at: at })
    .where('conversation_id', '=', conversationId)
    .where('seq', '=', seq)
    .where('kind', '=', 'message')
    .where('deleted_at', 'is', null)
    .executeTakeFirstOrThrow()
}

/** Whether `seq` is a post of the conversation, deleted or not. */
export async function isPost(db: Db, conversationId: number, seq: number): Promise<boolean> {
  const row = await db
    .selectFrom('messages')
    .select('seq')
    .where('conversation_id', '=', conversationId)
    .where('seq', '=', seq)
    .where('kind', '=', 'message')
    .executeTakeFirst()
  return row !== undefined
}

/** The live replies to message `seq`, oldest first, after a seq; at most `limit`. */
export async function listReplies(db: Db, conversationId: number, seq: number, limit: number, afterSeq = 0): Promise<LogRow[]> {
  return logRows(db)
    .select(logColumns)
    .where('messages.conversation_id', '=', conversationId)
    .where('messages.reply_to_seq', '=', seq)
    .where('messages.seq', '>', afterSeq)
    .where('messages.deleted_at', 'is', null)
    .orderBy('messages.seq')
    .limit(limit)
    .execute()
}
