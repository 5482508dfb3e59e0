/** The frames the hub fans out to sockets: conversation events, typing signals, user notices. */
export type FanOutKind = 'events' | 'typing' | 'notice'

/**
 * What the hub reports (metrics/ counts it; hub tests leave it out). Every call covers one fan-out,
 * however many sockets it reached: nothing is counted per socket.
 */
export interface HubMeter {
  /** The same `frames` were written to each of `sockets` sockets. */
  wrote(kind: FanOutKind, frames: readonly Buffer[], sockets: number): void
  /** A channel relayed `events` events to its live subscribers in one fan-out (they shared its frames). */
  relayed(events: number): void
  /** The bus handed over `events` events, `wanted` of them for conversations with a subscriber on this node. */
  received(events: number, wanted: number): void
  /** A gap was filled from the store with `events` events. */
  gapFilled(events: number): void
}
