import type { Bus } from '../bus/bus.js'
import { type Logger, rateLimitedLog } from '../logger.js'
import { encodeEvent } from '../protocol/events.js'
import type { ChatEvent, Notice, Signal } from '../protocol/wire.js'

/**
 * The write path's last step, shared by every service that changes a conversation. What it publishes
 * is durable already (or, for notices and signals, never stored), so a failed XADD is logged, not
 * thrown: subscribers see a seq gap and their node reads the missing event from Postgres.
 */
export function createPublisher(deps: { bus: Bus; log: Logger }) {
  const { bus, log } = deps
  // While Redis is down every publish fails: a line per failure would flood the logs.
  const eventFailed = rateLimitedLog(log, 'error', 'publish to the stream failed')
  const noticeFailed = rateLimitedLog(log, 'error', 'publishing a notice failed')
  const signalFailed = rateLimitedLog(log, 'warn', 'publishing a signal failed')
  return {
    async event(event: ChatEvent): Promise<void> {
      try {
        await bus.publish(encodeEvent(event))
      } catch (err) {
        eventFailed({ err, conversationId: event.conversationId, seq: event.seq })
      }
    },

    /** A frame for every socket of these users, on every node. */
    async notice(userIds: readonly number[], frame: Notice): Promise<void> {
      if (userIds.length === 0) return
      try {
        await bus.publishNotice({ userIds: [...userIds], json: JSON.stringify(frame) })
      } catch (err) {
        noticeFailed({ err, type: frame.type })
      }
    },

    /** A frame for a conversation's subscribers on every node, except the sockets of `exceptUserId`. */
    async signal(conversationId: number, exceptUserId: number, frame: Signal): Promise<void> {
      try {
        await bus.publishSignal({ conversationId, exceptUserId, json: JSON.stringify(frame) })
      } catch (err) {
        signalFailed({ err, conversationId })
      }
    },
  }
}

export type Publisher = ReturnType<typeof createPublisher>
