import { ChatError } from '../errors.js'
import type { Sync } from '../hub/channel.js'
import type { LocalHub, ReadLog, Subscriber } from '../hub/local-hub.js'
import { type EncodedEvent, encodeEventsFrames } from '../protocol/events.js'
import { removedFrame } from '../protocol/frames.js'
import type { AccessCheck } from './access.js'

export interface Resumed {
  /** Every event up to this seq has been sent to the subscriber. */
  lastSeq: number
  /** False when more events were missed than one resume sends: the subscriber is not live and should resume again from lastSeq. */
  complete: boolean
  /** Whether the subscriber's user may post in the conversation, as checked after the log was read. */
  mayPost: boolean
}

/** What resuming reports (metrics/ counts it). */
export interface ResumeMeter {
  /** A subscribe with afterSeq was answered; not complete when the client must ask again for more. */
  resumed(complete: boolean): void
  /** Backfill written to one socket: `events` events in `frames`. */
  backfilled(events: number, frames: readonly Buffer[]): void
}

/**
 * Subscribing a socket to a conversation: who may, and, with afterSeq, the events it missed. A
 * subscription is authorised once before anything is read (a prompt, uniform refusal) and again
 * after the log was read, so that a removal in between is never missed: one that committed before
 * the read is seen by the second check, one that committed after comes later in the log, through
 * the channel, which ends the subscription there.
 */
export function createSubscriptions(deps: { hub: LocalHub; readLog: ReadLog; access: AccessCheck; meter: ResumeMeter }) {
  const { hub, readLog, access, meter } = deps

  /**
   * Writes events to a subscriber whose backfill runs, each frame once the one before has left the
   * process. False when the subscription ended meanwhile (the socket closed, or subscribed again).
   */
  async function backfill(sync: Sync, events: readonly EncodedEvent[]): Promise<boolean> {
    const frames = encodeEventsFrames(events)
    for (const frame of frames) {
      const written = await sync.subscriber.sendBackfill(frame)
      if (!hub.isSyncing(sync)) return false
      if (!written) {
        hub.unsubscribe(sync.subscriber, sync.conversationId)
        return false
      }
    }
    meter.backfilled(events.length, frames)
    return true
  }

  /**
   * Sends the subscriber one page of the events after afterSeq from the store, one frame at a time
   * as the socket takes them, then the events the channel relayed meanwhile, and makes the
   * subscription live with no gap and no duplicate. Resolves to undefined when the subscription
   * ended while its backfill was read or written (the socket closed, or a removal ended it, which
   * the socket is told).
   */
  async function subscribe(subscriber: Subscriber, conversationId: number, afterSeq?: number): Promise<Resumed | undefined> {
    const userId = subscriber.userId
    await access.toRead(conversationId, userId)
    const sync = hub.startSync(subscriber, conversationId)
    let log
    let mayPost: boolean
    try {
      await hub.watched(sync)
      log = await readLog(conversationId, afterSeq)
      ;({ mayPost } = await access.toRead(conversationId, userId))
    } catch (err) {
      hub.unsubscribe(subscriber, conversationId)
      throw err
    }
    if (!hub.isSyncing(sync)) return undefined
    if (afterSeq !== undefined && afterSeq > log.lastSeq) {
      hub.unsubscribe(subscriber, conversationId)
      throw new ChatError('invalid', `afterSeq ${afterSeq} is past the conversation's last seq ${log.lastSeq}`)
    }
    hub.logRead(sync, log.lastSeq)

    let sentThrough = afterSeq ?? log.lastSeq
    if (!(await backfill(sync, log.events))) return undefined
    sentThrough = log.events[log.events.length - 1]?.seq ?? sentThrough
    if (sentThrough < log.lastSeq) {
      // The page was cut (count or bytes): the subscriber asks again from where it ends.
      hub.unsubscribe(subscriber, conversationId)
      return { lastSeq: sentThrough, complete: false, mayPost }
    }
    // What the channel relayed meanwhile goes the same way, until nothing is left to send.
    for (;;) {
      if (sync.overflowed) {
        hub.unsubscribe(subscriber, conversationId)
        return { lastSeq: sentThrough, complete: false, mayPost }
      }
      const newer = sync.takeBacklog(sentThrough)
      if (newer.length > 0) {
        if (!(await backfill(sync, newer))) return undefined
        sentThrough = (newer[newer.length - 1] as EncodedEvent).seq
        continue
      }
      if (sync.endsAt(sentThrough)) {
        hub.unsubscribe(subscriber, conversationId)
        await subscriber.sendBackfill(removedFrame(conversationId))
        return undefined
      }
      break
    }
    return { lastSeq: hub.goLive(sync, sentThrough), complete: true, mayPost }
  }

  return {
    async subscribe(subscriber: Subscriber, conversationId: number, afterSeq?: number): Promise<Resumed | undefined> {
      const result = await subscribe(subscriber, conversationId, afterSeq)
      if (result && afterSeq !== undefined) meter.resumed(result.complete)
      return result
    },
    unsubscribe: (subscriber: Subscriber, conversationId: number) => hub.unsubscribe(subscriber, conversationId),
    /** The conversations a subscriber is subscribed to, or reading the backfill of. */
    of: (subscriber: Subscriber): ReadonlySet<number> => hub.subscriptionsOf(subscriber),
  }
}

export type Subscriptions = ReturnType<typeof createSubscriptions>
