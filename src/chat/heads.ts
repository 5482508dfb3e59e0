import type { Logger } from '../logger.js'
import type { Db } from '../storage/db.js'
import { type LogHead, logHeadsSince, uncommittedFloor } from '../storage/log-reads.js'

/** Transactions open longer than this are not waited for (see uncommittedFloor). */
const MAX_LOOKBACK_MS = 60_000
/** How far the database server's clock may step back without a row being missed. */
const CLOCK_MARGIN_MS = 1000

export interface HeadsWatchOptions {
  db: Db
  intervalMs: number
  /** Whether any conversation is watched on this node; when none is, nothing is read but the floor. */
  watching: () => boolean
  /** Takes the heads of the conversations whose logs grew since the previous read. */
  onHeads: (heads: LogHead[]) => void
  log: Logger
}

/**
 * How a node learns of events whose stream entry was lost (the writer died between COMMIT and XADD,
 * or Redis refused or lost the entry), even in a conversation where nothing follows them. Every
 * `intervalMs` it reads from Postgres the last seq of each conversation whose log grew since the
 * read before, and hands them to the hub, which reads from Postgres whatever its channels have not
 * seen. It costs one small statement per interval when idle and two otherwise, whatever the message
 * rate, and nothing on the write path.
 *
 * "Since the read before" misses nothing: before each read it takes uncommittedFloor(), a time that
 * every row not yet committed will carry or exceed, and the next read starts there. A row committed
 * after a read began was not committed when that read's floor was taken, so its time is at or after
 * that floor.
 */
export class HeadsWatch {
  private since: Date | undefined
  private timer: NodeJS.Timeout | undefined
  private polling: Promise<void> | undefined
  private failing = false
  private stopped = false

  constructor(private readonly options: HeadsWatchOptions) {}

  start(): void {
    this.schedule(0)
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.polling
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.polling = this.poll().finally(() => this.schedule(this.options.intervalMs))
    }, delayMs)
    this.timer.unref()
  }

  private async poll(): Promise<void> {
    const { db, log } = this.options
    try {
      const floor = await uncommittedFloor(db, MAX_LOOKBACK_MS, CLOCK_MARGIN_MS)
      if (this.since !== undefined && this.options.watching()) {
        const heads = await logHeadsSince(db, this.since)
        if (heads.length > 0) this.options.onHeads(heads)
      }
      this.since = floor
      if (this.failing) log.info({}, 'reading log heads from Postgres works again')
      this.failing = false
    } catch (err) {
      // `since` stays where it was: the next read that works covers the whole outage. pg attaches
      // its client, connection settings included, to errors: log only what it says.
      const { code, message } = err as { code?: string; message?: string }
      if (!this.failing) log.warn({ code, reason: message }, 'reading log heads from Postgres failed; retrying every interval')
      this.failing = true
    }
  }
}
