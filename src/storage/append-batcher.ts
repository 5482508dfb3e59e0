import type { Db } from './db.js'
import { type NewMessage, appendMessages } from './messages.js'

export interface Appended {
  seq: number
  createdAt: Date
}

export interface MessageToAppend {
  conversationId: number
  authorId: number
  text: string
  clientMsgId: string | undefined
}

interface Waiting {
  message: MessageToAppend
  resolve: (appended: Appended | undefined) => void
  reject: (err: unknown) => void
}

export const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === '23505'

export interface AppendBatcherOptions {
  /** Most posts in one statement. */
  maxBatch: number
  /** Most statements in flight at once. */
  maxConcurrent: number
  /** How long the first post of a batch waits for others to join it; 0 writes it at once. */
  lingerMs: number
}

/**
 * Groups concurrent posts into batched appends (one statement and one commit each). A batch leaves
 * `lingerMs` after its first post, or at once when it is full, or as soon as a statement slot frees
 * up while posts wait; so batches grow with the load, and each costs Postgres one commit.
 */
export class AppendBatcher {
  private readonly waiting: Waiting[] = []
  private inFlight = 0
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly db: Db,
    private readonly options: AppendBatcherOptions,
  ) {}

  /**
   * Appends a message with its conversation's next seq. Resolves to undefined when the conversation
   * does not exist; rejects with the database's error otherwise (23505 for a client id used before).
   */
  append(message: MessageToAppend): Promise<Appended | undefined> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ message, resolve, reject })
      if (this.waiting.length >= this.options.maxBatch || this.options.lingerMs === 0) this.flush()
      else this.timer ??= setTimeout(() => this.flush(), this.options.lingerMs)
    })
  }

  private flush(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    while (this.inFlight < this.options.maxConcurrent && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.options.maxBatch)
      this.inFlight++
      void this.write(batch).finally(() => {
        this.inFlight--
        this.flush()
      })
    }
  }

  private async write(batch: Waiting[]): Promise<void> {
    const ranks = new Map<number, number>()
    const rows: NewMessage[] = batch.map(({ message }) => {
      const rank = (ranks.get(message.conversationId) ?? 0) + 1
      ranks.set(message.conversationId, rank)
      return { ...message, rank, clientMsgId: message.clientMsgId ?? null }
    })
    let appended: Awaited<ReturnType<typeof appendMessages>>
    try {
      appended = await appendMessages(this.db, rows)
    } catch (err) {
      // One retried post fails the whole statement; alone, each of the others goes through.
      if (batch.length > 1 && isUniqueViolation(err)) {
        await Promise.all(batch.map((one) => this.write([one])))
        return
      }
      for (const { reject } of batch) reject(err)
      return
    }
    batch.forEach(({ resolve }, i) => {
      const row = rows[i] as NewMessage
      const base = appended.bases.get(row.conversationId)
      resolve(base === undefined ? undefined : { seq: base + row.rank, createdAt: appended.createdAt })
    })
  }
}
