import type { Logger } from '../logger.js'
import type { Limit } from '../auth/rate-limits.js'
import type { Bus } from '../bus/bus.js'
import { ChatError } from '../errors.js'
import { conversationExists } from '../storage/conversations.js'
import { type Db, isUniqueViolation } from '../storage/db.js'
import { Batcher } from '../storage/batcher.js'
import {
  type Appended,
  type Log,
  type LogRequest,
  type LogRow,
  type MessageToAppend,
  appendMessages,
  findByClientMsgId,
  findMessage,
  insertTombstone,
  listRecentMessages,
  markDeleted,
  readLogs,
  takeTombstoneSeq,
} from '../storage/messages.js'
import { type ChatEvent, type EncodedLog, encodeEvent, logRowToEvent } from './events.js'
import { type MessageView, messageUrl, toMessageView } from './views.js'

export const TEXT_MAX_CHARS = 4000
export const LIST_DEFAULT = 10
export const LIST_MAX = 100
export const CLIENT_MSG_ID_MAX_CHARS = 64

export interface Author {
  userId: number
  username: string
}

export interface Posted {
  conversationId: number
  seq: number
  message: MessageView
}

/** Posts written together in one statement at most, and such statements in flight per node at most. */
const APPEND_BATCH_MAX = 256
const APPENDS_IN_FLIGHT = 1
/** Log reads (resumes, gap fills) of one event-loop turn share a statement; identical ones are read once. */
const LOG_READ_BATCH_MAX = 100
const LOG_READS_IN_FLIGHT = 4

export function createMessages(deps: { db: Db; bus: Bus; log: Logger; appendLingerMs: number; postLimit: Limit }) {
  const { db, bus, log } = deps
  const appender = new Batcher<MessageToAppend, Appended>((batch) => appendMessages(db, batch), {
    maxBatch: APPEND_BATCH_MAX,
    maxConcurrent: APPENDS_IN_FLIGHT,
    lingerMs: deps.appendLingerMs,
  })
  const logReads = new Batcher<LogRequest, EncodedLog | undefined>(
    async (requests) => {
      const logs = await readLogs(db, requests)
      // Requests that were the same got the same Log: serialise its events once for all of them.
      const encoded = new Map<Log, EncodedLog>()
      return logs.map((log) => {
        if (log && !encoded.has(log)) encoded.set(log, { lastSeq: log.lastSeq, events: log.rows.map((row) => encodeEvent(logRowToEvent(row))) })
        return { status: 'fulfilled', value: log && encoded.get(log) }
      })
    },
    { maxBatch: LOG_READ_BATCH_MAX, maxConcurrent: LOG_READS_IN_FLIGHT, lingerMs: 0 },
  )

  /**
   * The write path's last step. The event is durable already, so a failed XADD is logged, not
   * thrown: subscribers see a seq gap and their node reads the missing event from Postgres.
   */
  async function publish(event: ChatEvent): Promise<void> {
    try {
      await bus.publish(encodeEvent(event))
    } catch (err) {
      log.error({ err, conversationId: event.conversationId, seq: event.seq }, 'publish to the stream failed')
    }
  }

  const posted = (row: LogRow): Posted => ({ conversationId: row.conversation_id, seq: row.seq, message: toMessageView(row) })

  return {
    /**
     * Appends a message with the conversation's next seq, then publishes it. A retry with the same
     * clientMsgId returns the original message and creates nothing. Every attempt counts against
     * the author's message rate limit, over REST and WebSocket alike.
     */
    async post(author: Author, conversationId: number, text: string, clientMsgId?: string): Promise<Posted> {
      await deps.postLimit.consume(author.userId)
      let appended: Appended
      try {
        appended = await appender.load({ conversationId, authorId: author.userId, text, clientMsgId })
      } catch (err) {
        // A retry: the unique index on the client's id refused the row, and nothing was written.
        // The original row is the answer.
        if (clientMsgId === undefined || !isUniqueViolation(err)) throw err
        const original = await findByClientMsgId(db, conversationId, author.userId, clientMsgId)
        if (!original) throw err
        return posted(original)
      }
      if (!appended) throw new ChatError('not_found', 'conversation not found')
      const { seq, createdAt } = appended
      const message = { user: author.username, text, timestamp: createdAt.toISOString(), url: messageUrl(conversationId, seq) }
      const result = { conversationId, seq, message }
      await publish({ type: 'message.created', conversationId, seq: result.seq, message: result.message })
      return result
    },

    /** The n most recent messages, oldest first. */
    async listRecent(conversationId: number, n: number): Promise<MessageView[]> {
      const rows = await listRecentMessages(db, conversationId, n)
      // Only an empty listing can mean that the conversation does not exist.
      if (rows.length === 0 && !(await conversationExists(db, conversationId)))
        throw new ChatError('not_found', 'conversation not found')
      return rows.map(toMessageView)
    },

    async get(conversationId: number, seq: number): Promise<MessageView> {
      const row = await findMessage(db, conversationId, seq)
      if (!row) throw new ChatError('not_found', 'message not found')
      return toMessageView(row)
    },

    /** Deletes a message (its author only) and records the delete as a tombstone with its own seq. */
    async remove(userId: number, conversationId: number, seq: number): Promise<void> {
      const tombstone = await db.transaction().execute(async (trx) => {
        // Lock the conversation first, so that two deletes of one message cannot both succeed.
        const tombstoneSeq = await takeTombstoneSeq(trx, conversationId)
        if (tombstoneSeq === undefined) throw new ChatError('not_found', 'conversation not found')
        const message = await findMessage(trx, conversationId, seq)
        if (!message) throw new ChatError('not_found', 'message not found')
        if (message.author_id !== userId) throw new ChatError('forbidden', 'only the author may delete a message')
        await markDeleted(trx, conversationId, seq)
        await insertTombstone(trx, { conversationId, seq: tombstoneSeq, authorId: userId, targetSeq: seq })
        return tombstoneSeq
      })
      await publish({ type: 'message.deleted', conversationId, seq: tombstone, messageSeq: seq, url: messageUrl(conversationId, seq) })
    },

    /** The log after a seq (at most `limit` events) and the conversation's last seq, from one snapshot. */
    async readLog(conversationId: number, afterSeq: number, limit: number): Promise<EncodedLog> {
      const log = await logReads.load({ conversationId, afterSeq, limit })
      if (!log) throw new ChatError('not_found', 'conversation not found')
      return log
    },
  }
}

export type Messages = ReturnType<typeof createMessages>
