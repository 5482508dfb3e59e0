/** The bus designs the scale bench compares, each as the node settings that choose it. */
export const BUS_DESIGNS = {
  /** Every node reads every event from one stream. */
  broadcast: { STREAM_SHARDS: '1' },
  /** Live events by sharded Pub/Sub, a channel per conversation with a local subscriber; streams for control messages and notices. */
  pubsub: { BUS_ROUTING: 'pubsub' },
} satisfies Record<string, Record<string, string>>

export type BusDesign = keyof typeof BUS_DESIGNS
