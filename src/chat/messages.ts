import type { Limit } from '../auth/rate-limits.js'
import { ChatError } from '../errors.js'
import { messageCreated, messageDeleted, messageEdited, messageUrl, messageView, replyQuote } from '../protocol/events.js'
import { quoteOf } from '../protocol/quotes.js'
import { mentionedNames } from '../protocol/mentions.js'
import type { MessageWithReactions } from '../protocol/rest.js'
import type { MessageView } from '../protocol/wire.js'
import { blockedWithinConversation } from '../storage/blocks.js'
import { type Db, type Trx, isUniqueViolation } from '../storage/db.js'
import { dropMentions, replaceMentions } from '../storage/mentions.js'
import { dropReactions } from '../storage/reactions.js'
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
  isPost,
  listMessages,
  listReplies,
  markDeleted,
  takeLogSeq,
} from '../storage/messages.js'
import { type AccessCheck, postRefused } from './access.js'
import { pageOf, rowsToRead } from './pages.js'
import type { Publisher } from './publisher.js'
import { withReactions } from './reactions.js'
import { toMessageView } from './views.js'

export const LIST_DEFAULT = 10
export const LIST_MAX = 100
export const REPLIES_DEFAULT = 50

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

  /** Tells the users a message mentions, on all their devices. */
  const tellMentioned = (userIds: readonly number[], conversationId: number, seq: number, by: string, text: string) =>
    publish.notice(userIds, { type: 'mention', conversationId, seq, url: messageUrl(conversationId, seq), by, text: quoteOf(text) })

  return {
    /**
     * Appends a message with the conversation's next seq, as a reply to message `replyTo` when given,
     * then publishes it and tells the users it mentions. A retry with the same clientMsgId returns the
     * original message and creates nothing. Every attempt counts against the author's message rate
     * limit, over REST and WebSocket alike.
     */
    async post(author: Author, conversationId: number, text: string, clientMsgId?: string, replyTo?: number): Promise<Posted> {
      await deps.postLimit.consume(author.userId)
      let appended: Appended
      try {
        appended = await append({ conversationId, authorId: author.userId, text, clientMsgId, replyTo, mentions: mentionedNames(text) })
      } catch (err) {
        // A retry: the unique index on the client's id refused the row, and nothing was written.
        // The original row is the answer.
        if (clientMsgId === undefined || !isUniqueViolation(err)) throw err
        const original = await findByClientMsgId(db, conversationId, author.userId, clientMsgId)
        if (!original) throw err
        return posted(original)
      }
      if (appended.outcome === 'reply_not_found') throw new ChatError('invalid', 'replyTo is not a message of this conversation')
      if (appended.outcome === 'reply_deleted') throw new ChatError('invalid', 'replyTo is a deleted message')
      if (appended.outcome !== 'ok') throw postRefused(appended.outcome)
      const { seq, createdAt, replyTo: target } = appended
      const quote = target && replyQuote(conversationId, target.seq, target.user, target.text, false)
      const message = messageView(conversationId, seq, author.username, text, createdAt, null, quote)
      await publish.event(messageCreated(conversationId, seq, message, false))
      await tellMentioned(appended.mentioned, conversationId, seq, author.username, text)
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

    /**
     * Deletes a message (its author only, wherever they may read) and records the delete as a
     * tombstone with its own seq. A block does not stop it, nor does having lost the right to post:
     * a delete only takes away.
     */
    async remove(userId: number, conversationId: number, seq: number): Promise<void> {
      await access.toRead(conversationId, userId)
      const { logPosition } = await changeOwnMessage(userId, conversationId, seq, async (trx, position) => {
        await markDeleted(trx, conversationId, seq)
        await dropMentions(trx, conversationId, seq)
        await dropReactions(trx, conversationId, seq)
        await insertLogEntry(trx, { conversationId, ...position, kind: 'tombstone', authorId: userId, targetSeq: seq })
      }, -1)
      await publish.event(messageDeleted(conversationId, logPosition.seq, seq))
    },

    /**
     * Replaces a message's text (its author only, while they may post there: a block in a direct
     * conversation refuses it as it refuses a post, decided under the conversation's lock) and
     * records the edit in the log with its own seq. Users the new text mentions and the old one did
     * not are told; those it no longer mentions lose the mention. Resolves to the message as it now is.
     */
    async edit(userId: number, conversationId: number, seq: number, text: string): Promise<MessageWithReactions> {
      const { mayPost, kind } = await access.toRead(conversationId, userId)
      if (!mayPost) throw new ChatError('forbidden', 'only members may edit here')
      let mentioned: number[] = []
      const { logPosition, message } = await changeOwnMessage(userId, conversationId, seq, async (trx, position) => {
        if (kind === 'direct' && (await blockedWithinConversation(trx, conversationId, userId))) throw postRefused('blocked')
        await applyEdit(trx, conversationId, seq, text, position.at)
        await insertLogEntry(trx, { conversationId, ...position, kind: 'edit', authorId: userId, text, targetSeq: seq })
        mentioned = await replaceMentions(trx, conversationId, seq, userId, mentionedNames(text))
      })
      await publish.event(messageEdited(conversationId, logPosition.seq, seq, text, logPosition.at))
      await tellMentioned(mentioned, conversationId, seq, message.username, text)
      return (await withReactions(db, userId, conversationId, [{ ...message, text, edited_at: logPosition.at }]))[0] as MessageWithReactions
    },

    /**
     * The live replies to post `seq` (deleted or not), oldest first, `limit` at a time after a seq,
     * and the seq to page on from (null at the end). 404 when `seq` is no post of the conversation.
     */
    async replies(userId: number | undefined, conversationId: number, seq: number, limit: number, afterSeq?: number) {
      await access.toRead(conversationId, userId)
      if (!(await isPost(db, conversationId, seq))) throw new ChatError('not_found', 'message not found')
      const page = pageOf(await listReplies(db, conversationId, seq, rowsToRead(limit), afterSeq), limit, (row) => String(row.seq))
      return { replies: await withReactions(db, userId, conversationId, page.rows), next: page.next }
    },
  }
}

export type Messages = ReturnType<typeof createMessages>
