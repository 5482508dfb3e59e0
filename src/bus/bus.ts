import type { EncodedEvent } from '../chat/events.js'

/**
 * The cluster's one delivery path. Every node publishes every event here and reads every event back,
 * including its own, with a cursor of its own.
 */
export interface Bus {
  /** Resolves once the shared queue holds the event. */
  publish(event: EncodedEvent): Promise<void>
  /** Starts reading everything published from now on, handing it over in batches, in stream order. */
  consume(onBatch: (events: EncodedEvent[]) => void): Promise<void>
  /** Stops reading and releases connections. */
  close(): Promise<void>
}
