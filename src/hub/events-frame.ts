import type { EncodedEvent } from '../chat/events.js'

/**
 * The server frame that carries events (docs/protocol.md). Built from each event's JSON, already
 * serialised once when it was published, so a frame costs one string join and one Buffer.
 */
export function encodeEventsFrame(events: readonly EncodedEvent[]): Buffer {
  let body = '{"type":"events","events":['
  for (let i = 0; i < events.length; i++) body += (i === 0 ? '' : ',') + (events[i] as EncodedEvent).json
  return Buffer.from(body + ']}')
}
