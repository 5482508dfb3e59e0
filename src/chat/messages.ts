import type { Limit } from '../auth/rate-limits.js'
import { ChatError } from '../errors.js'
import { messageCreated, messageDeleted, messageEdited, messageView } from '../protocol/events.js'
import type { MessageWithReactions } from '../protocol/rest.js'
import type { MessageView } from '../protocol/wire.js'
import { type Db, type Trx, isUniqueViolation } from '../storage/db.js'
import {
  type Appended,
  type LogPosition,
  type LogRow,
  type MessagePage,
  createAppender,
  applyEdit,
  findByClientMsgId,
  findMessage,
  insertLogEntry,
  listMessages,
  markDeleted,
  takeLogSeq,
} from '../storage/messages.js'
import { type AccessCheck, postRefused } from './access.js'
import type { Publisher } from './publisher.js'
import { withReactions } from './reactions.js'
import { toMessageView } from './views.js'

export const LIST_DEFAULT = 10
export const LIST_MAX = 100

export interface Author {
  userId: number
  username: string
}

export interface Posted {
  conversationId: number
  seq: number
  message: MessageView
}

export function createMessages(deps: {
  db: Db
  access: AccessCheck
  publish: Publisher
  /** Told the number of posts each append statement carries (metrics). */
  onAppendBatch: (posts: number) => void
  postLimit: Limit
}) {
  const { db, access, publish } = deps
  const append = createAppender(db, deps.onAppendBatch)

  /**
   * Runs a change to a message of `userId`'s in a transaction that first takes the next log
   * position, locking the conversation, so that two changes of one message are ordered and a deleted
   * one cannot be changed again.
   */
  async function changeOwnMessage(
    userId: number,
    conversationId: number,
    seq: number,
    change: (trx: Trx, logPosition: LogPosition) => Promise<void>,
    countChange: 0 | -1 = 0,
  ): Promise<{ logPosition: LogPosition; message: LogRow }> {
    return db.transaction().execute(async (trx) => {
      const logPosition = await takeLogSeq(trx, conversationId, countChange)
      if (logPosition === undefined) throw new ChatError('not_found', 'conversation not found')
      const message = await findMessage(trx, conversationId, seq)
      if (!message) throw new ChatError('not_found', 'message not found')
      if (message.author_id !== userId) throw new ChatError('forbidden', 'only the author may change a message')
      await change(trx, logPosition)
      return { logPosition, message }
    })
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
        appended = await append({ conversationId, authorId: author.userId, text, clientMsgId })
      } catch (err) {
        // A retry: the unique index on the client's id refused the row, and nothing was written.
        // The original row is the answer.
        if (clientMsgId === undefined || !isUniqueViolation(err)) throw err
        const original = await findByClientMsgId(db, conversationId, author.userId, clientMsgId)
        if (!original) throw err
        return posted(original)
      }
      if (appended.outcome !== 'ok') throw postRefused(appended.outcome)
      const { seq, createdAt } = appended
      const message = messageView(conversationId, seq, author.username, text, createdAt, null)
      await publish.event(messageCreated(conversationId, seq, message, false))
      return { conversationId, seq, message }
    },

    /** Live messages, oldest first: the newest, or a page before or after a seq. `userId` undefined: not logged in. */
    async list(userId: number | undefined, conversationId: number, page: MessagePage): Promise<MessageWithReactions[]> {
      await access.toRead(conversationId, userId)
      return withReactions(db, userId, conversationId, await listMessages(db, conversationId, page))
    },

    async get(userId: number | undefined, conversationId: number, seq: number): Promise<MessageWithReactions> {
      await access.toRead(conversationId, userId)
      const row = await findMessage(db, conversationId, seq)
      if (!row) throw new ChatError('not_found', 'message not found')
      return (await withReactions(db, userId, conversationId, [row]))[0] as MessageWithReactions
    },

    /** Deletes a message (its author only) and records the delete as a tombstone with its own seq. */
    async remove(userId: number, conversationId: number, seq: number): Promise<void> {
      await access.toRead(conversationId, userId)
      const { logPosition } = await changeOwnMessage(userId, conversationId, seq, async (trx, position) => {
        await markDeleted(trx, conversationId, seq)
        await insertLogEntry(trx, { conversationId, ...position, kind: 'tombstone', authorId: userId, targetSeq: seq })
      }, -1)
      await publish.event(messageDeleted(conversationId, logPosition.seq, seq))
    },

    /**
     * Replaces a message's text (its author only, while they may post there) and records the edit
     * in the log with its own seq. Resolves to the message as it now is.
     */
    async edit(userId: number, conversationId: number, seq: number, text: string): Promise<MessageWithReactions> {
      const { mayPost } = await access.toRead(conversationId, userId)
      if (!mayPost) throw new ChatError('forbidden', 'only members may edit here')
      const { logPosition, message } = await changeOwnMessage(userId, conversationId, seq, async (trx, position) => {
        await applyEdit(trx, conversationId, seq, text, position.at)
        await insertLogEntry(trx, { conversationId, ...position, kind: 'edit', authorId: userId, text, targetSeq: seq })
      })
      await publish.event(messageEdited(conversationId, logPosition.seq, seq, text, logPosition.at))
      return (await withReactions(db, userId, conversationId, [{ ...message, text, edited_at: logPosition.at }]))[0] as MessageWithReactions
    },
  }
}

export type Messages = ReturnType<typeof createMessages>
