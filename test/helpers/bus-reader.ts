import type { Test } from 'tap'
import type { Bus } from '../../src/bus/bus.js'
import type { ControlMessage, ConversationSignal, UserNotice } from '../../src/protocol/envelopes.js'
import type { EncodedEvent } from '../../src/protocol/events.js'
import { until } from './waiting.js'

export const event = (conversationId: number, seq: number): EncodedEvent => ({
  conversationId,
  seq,
  json: JSON.stringify({ type: 'message.created', conversationId, seq, message: { text: `m${seq}` } }),
})

/** Makes the bus read, collecting everything it gets; it is closed when `t` ends. */
export async function reading(t: Test, bus: Bus) {
  const received: EncodedEvent[] = []
  /** Everything handed over, in order: each events batch as one item, and each other item. */
  const handedOver: (EncodedEvent[] | ControlMessage | UserNotice | ConversationSignal)[] = []
  /** The entries of each read, as the bus tells them. */
  const reads: number[] = []
  await bus.consume({
    delivery: {
      relay: (events) => {
        received.push(...events)
        handedOver.push(events)
      },
      notify: (notice) => handedOver.push(notice),
      signal: (signal) => handedOver.push(signal),
    },
    control: (message) => handedOver.push(message),
    onRead: (entries) => reads.push(entries),
  })
  t.teardown(() => bus.close())
  const waitFor = (count: number) => until(() => received.length >= count && received, `${count} events`)
  return { bus, received, handedOver, reads, waitFor }
}
