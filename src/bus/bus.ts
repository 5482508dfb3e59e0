import type { ControlMessage, ConversationSignal, UserNotice } from '../protocol/envelopes.js'
import type { EncodedEvent } from '../protocol/events.js'

/** Where a node's reads go for its own sockets: its hub. */
export interface Delivery {
  relay(events: EncodedEvent[]): void
  notify(notice: UserNotice): void
  signal(signal: ConversationSignal): void
}

/** What a node does with what it reads, in stream order: delivery, and the cluster's control messages. */
export interface BusSink {
  delivery: Delivery
  control(message: ControlMessage): void
  /** Told the number of entries (one per publishing turn) of each read that brought some (metrics). */
  onRead?(entries: number): void
}

/** How far a node's reading is behind the newest entry of the queue. */
export interface StreamLag {
  /** Entries added that it has not handed over; undefined when the queue does not count them (Redis before 7). */
  entries: number | undefined
  /** Between the newest entry and the last one it read. */
  seconds: number
}

/**
 * The cluster's one delivery path. Every node publishes every event here and reads every event back,
 * including its own, with a cursor of its own.
 */
export interface Bus {
  /** Resolves once the shared queue holds the event. */
  publish(event: EncodedEvent): Promise<void>
  /** Resolves once the shared queue holds the message. */
  publishControl(message: ControlMessage): Promise<void>
  publishNotice(notice: UserNotice): Promise<void>
  publishSignal(signal: ConversationSignal): Promise<void>
  /**
   * This node wants the conversation's events and signals: resolves once every one published from
   * then on will reach it. A bus that brings everything to every node resolves at once. It never
   * rejects: while Redis cannot be reached it resolves, and what is missed meanwhile comes by the
   * recovery paths (gap fills and log heads).
   */
  watch(conversationId: number): Promise<void>
  /** This node no longer wants the conversation's events. */
  unwatch(conversationId: number): void
  /** Starts reading everything published from now on, handing it over in batches, in stream order. */
  consume(sink: BusSink): Promise<void>
  /** The reader's lag now: asked when metrics are scraped. */
  lag(): Promise<StreamLag>
  /** Stops reading and releases connections. */
  close(): Promise<void>
}

/** One thing published, as it sits in the queue. */
export type BusItem =
  | { kind: 'event'; event: EncodedEvent }
  | { kind: 'control'; message: ControlMessage }
  | { kind: 'notice'; notice: UserNotice }
  | { kind: 'signal'; signal: ConversationSignal }

/** Hands a read's items to the sink in order: consecutive events in one batch, every other item in its place between them. */
export function handOver(items: readonly BusItem[], { delivery, control }: BusSink): void {
  let batch: EncodedEvent[] = []
  for (const item of items) {
    if (item.kind === 'event') {
      batch.push(item.event)
      continue
    }
    if (batch.length > 0) delivery.relay(batch)
    batch = []
    if (item.kind === 'control') control(item.message)
    else if (item.kind === 'notice') delivery.notify(item.notice)
    else delivery.signal(item.signal)
  }
  if (batch.length > 0) delivery.relay(batch)
}
