import { ChatError } from '../errors.js'
import type { ReadLog } from '../hub/local-hub.js'
import { type EncodedLog, encodeEvent } from '../protocol/events.js'
import { Batcher } from '../storage/batcher.js'
import type { Db } from '../storage/db.js'
import { type Log, type LogRequest, readLogs } from '../storage/log-reads.js'
import { logRowToEvent } from './views.js'

/** The most one read of a conversation's log returns: a resume page, or a gap filled. */
export interface LogPage {
  maxEvents: number
  maxBytes: number
}

/** Log reads (resumes, gap fills) of one event-loop turn share a statement; identical ones are read once. */
const LOG_READ_BATCH_MAX = 100
const LOG_READS_IN_FLIGHT = 4

/**
 * The one way from delivery to the store (the hub's ReadLog): the conversation's last seq and, with
 * afterSeq, one page of the log after it (see LogPage), from one snapshot, with each event
 * serialised as it was when it was published (a message as it is now).
 */
export function createLogReader(deps: { db: Db; page: LogPage }): ReadLog {
  const logReads = new Batcher<LogRequest, EncodedLog | undefined>(
    async (requests) => {
      const logs = await readLogs(deps.db, requests)
      // Requests that were the same got the same Log: serialise its events once for all of them.
      const encoded = new Map<Log, EncodedLog>()
      return logs.map((log) => {
        if (log && !encoded.has(log)) encoded.set(log, { lastSeq: log.lastSeq, events: log.rows.map((row) => encodeEvent(logRowToEvent(row))) })
        return { status: 'fulfilled', value: log && encoded.get(log) }
      })
    },
    { maxBatch: LOG_READ_BATCH_MAX, maxConcurrent: LOG_READS_IN_FLIGHT },
  )
  return async (conversationId, afterSeq) => {
    const { maxEvents, maxBytes } = deps.page
    const log = await logReads.load({ conversationId, afterSeq: afterSeq ?? 0, limit: afterSeq === undefined ? 0 : maxEvents, maxBytes })
    if (!log) throw new ChatError('not_found', 'conversation not found')
    return log
  }
}
