import { Groups } from '../hub/groups.js'
import type { Logger } from '../logger.js'

/** A socket as the watch sees it: something that can be told its session ended. */
export interface SessionBound {
  readonly sessionId: number
  endSession(): void
}

export interface SessionWatchOptions {
  /** Of these sessions, the ones still valid; also records them as in use. */
  stillValid: (sessionIds: readonly number[]) => Promise<number[]>
  checkIntervalMs: number
  log: Logger
}

/** Sessions per statement of the periodic check. */
const CHECK_BATCH = 5000

/**
 * This node's open sockets by session. A session that ends closes its sockets here at once (the
 * stream's control message), and a periodic check, one statement per few thousand sessions,
 * closes the sockets of sessions that expired or whose revocation this node missed. The check also
 * counts an open socket as use of its session, so that it does not reach its idle limit.
 */
export class SessionWatch {
  private readonly bySession = new Groups<number, SessionBound>()
  private timer: NodeJS.Timeout | undefined
  private checking = false

  constructor(private readonly options: SessionWatchOptions) {}

  add(socket: SessionBound): void {
    this.bySession.add(socket.sessionId, socket)
  }

  remove(socket: SessionBound): void {
    this.bySession.delete(socket.sessionId, socket)
  }

  /** Closes every socket of these sessions. */
  end(sessionIds: Iterable<number>): void {
    for (const id of sessionIds) for (const socket of this.bySession.get(id)) socket.endSession()
  }

  start(): void {
    this.timer = setInterval(() => void this.check(), this.options.checkIntervalMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  async check(): Promise<void> {
    if (this.checking) return
    this.checking = true
    try {
      const ids = [...this.bySession.keys()]
      for (let i = 0; i < ids.length; i += CHECK_BATCH) {
        const batch = ids.slice(i, i + CHECK_BATCH)
        const valid = new Set(await this.options.stillValid(batch))
        const ended = batch.filter((id) => !valid.has(id))
        if (ended.length > 0) this.options.log.info({ sessions: ended.length }, 'closing the sockets of sessions that ended')
        this.end(ended)
      }
    } catch (err) {
      this.options.log.warn({ err }, 'checking the sessions of open sockets failed; retrying at the next interval')
    } finally {
      this.checking = false
    }
  }
}
