import type { ControlMessage, ConversationSignal, UserNotice } from '../protocol/envelopes.js'
import type { EncodedEvent } from '../protocol/events.js'

/** What a node does with what it reads, in stream order. */
export interface BusSink {
  events(events: EncodedEvent[]): void
  control(message: ControlMessage): void
  notice(notice: UserNotice): void
  signal(signal: ConversationSignal): void
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
  /** Starts reading everything published from now on, handing it over in batches, in stream order. */
  consume(sink: BusSink): Promise<void>
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
export function handOver(items: readonly BusItem[], sink: BusSink): void {
  let batch: EncodedEvent[] = []
  for (const item of items) {
    if (item.kind === 'event') {
      batch.push(item.event)
      continue
    }
    if (batch.length > 0) sink.events(batch)
    batch = []
    if (item.kind === 'control') sink.control(item.message)
    else if (item.kind === 'notice') sink.notice(item.notice)
    else sink.signal(item.signal)
  }
  if (batch.length > 0) sink.events(batch)
}
