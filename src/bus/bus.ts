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
