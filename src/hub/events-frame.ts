import type { EncodedEvent } from '../chat/events.js'

/**
 * The most an events frame holds, in bytes, unless one event alone is larger. It keeps every frame
 * well below the slow-consumer bound (WS_MAX_BUFFERED_BYTES), so that a burst of events (a gap
 * filled from Postgres, a long backfill) is never one frame too large for a socket that reads.
 */
export const FRAME_MAX_BYTES = 64 * 1024

const HEAD = '{"type":"events","events":['
const TAIL = ']}'

/**
 * The server frames that carry events (docs/protocol.md), in order, each at most FRAME_MAX_BYTES.
 * Built from each event's JSON, already serialised once when it was published, so a frame costs one
 * string join and one Buffer.
 */
export function encodeEventsFrames(events: readonly EncodedEvent[], maxBytes = FRAME_MAX_BYTES): Buffer[] {
  const frames: Buffer[] = []
  let body = ''
  let bytes = 0
  for (const event of events) {
    // JSON from JSON.stringify may hold multi-byte characters; a frame's limit is in bytes.
    const size = Buffer.byteLength(event.json)
    if (body !== '' && bytes + size + 1 > maxBytes) {
      frames.push(Buffer.from(HEAD + body + TAIL))
      body = ''
      bytes = 0
    }
    body += (body === '' ? '' : ',') + event.json
    bytes += size + 1
  }
  if (body !== '') frames.push(Buffer.from(HEAD + body + TAIL))
  return frames
}
