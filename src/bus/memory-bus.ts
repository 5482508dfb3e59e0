import type { ControlMessage, ConversationSignal, UserNotice } from '../protocol/envelopes.js'
import type { EncodedEvent } from '../protocol/events.js'
import { type Bus, type BusItem, type BusSink, type StreamLag, handOver } from './bus.js'

/**
 * The shared queue in memory, what a Redis stream is to several nodes: every bus on it that reads
 * gets every append, in append order. It keeps nothing itself; each reader keeps what it has yet
 * to hand over, which is its cursor.
 */
export class MemoryStream {
  private readonly readers = new Set<(items: readonly BusItem[]) => void>()

  append(items: readonly BusItem[]): void {
    for (const reader of this.readers) reader(items)
  }

  /** Gives `reader` every append from now on; answers the function that stops it. */
  read(reader: (items: readonly BusItem[]) => void): () => void {
    this.readers.add(reader)
    return () => this.readers.delete(reader)
  }
}

/**
 * The bus of a node that runs alone, or of several buses on one MemoryStream, each standing for a
 * node: the same order and batching as RedisStreamBus, without Redis. Items published in one turn of
 * the event loop are appended together, as one XADD; each bus hands over what it has received in a
 * later turn, never inside a publish.
 */
export class MemoryBus implements Bus {
  private waiting: { item: BusItem; resolve: () => void }[] = []
  private received: BusItem[] = []
  /** Appends received and not yet handed over: the entries of the next read. */
  private receivedEntries = 0
  private stopReading: (() => void) | undefined
  private closed = false

  constructor(private readonly stream = new MemoryStream()) {}

  publish(event: EncodedEvent): Promise<void> {
    return this.enqueue({ kind: 'event', event })
  }

  publishControl(message: ControlMessage): Promise<void> {
    return this.enqueue({ kind: 'control', message })
  }

  publishNotice(notice: UserNotice): Promise<void> {
    return this.enqueue({ kind: 'notice', notice })
  }

  publishSignal(signal: ConversationSignal): Promise<void> {
    return this.enqueue({ kind: 'signal', signal })
  }

  private enqueue(item: BusItem): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push({ item, resolve })
      if (this.waiting.length === 1) setImmediate(() => this.flush())
    })
  }

  private flush(): void {
    const waiting = this.waiting
    this.waiting = []
    this.stream.append(waiting.map((w) => w.item))
    for (const w of waiting) w.resolve()
  }

  /** Every bus on the stream gets everything. */
  async watch(): Promise<void> {}

  unwatch(): void {}

  async consume(sink: BusSink): Promise<void> {
    if (this.stopReading) throw new Error('consume() was already called')
    this.stopReading = this.stream.read((items) => {
      if (this.received.length === 0) setImmediate(() => this.deliver(sink))
      for (const item of items) this.received.push(item)
      this.receivedEntries++
    })
  }

  private deliver(sink: BusSink): void {
    const items = this.received
    const entries = this.receivedEntries
    this.received = []
    this.receivedEntries = 0
    if (this.closed) return
    sink.onRead?.(entries)
    handOver(items, sink)
  }

  /** What was appended and waits for the next turn to be handed over; nothing waits longer. */
  async lag(): Promise<StreamLag> {
    return { entries: this.receivedEntries, seconds: 0 }
  }

  async close(): Promise<void> {
    this.closed = true
    this.stopReading?.()
  }
}
