/** cluster-key-slot (what ioredis routes a Cluster's commands by) ships no types. */
declare module 'cluster-key-slot' {
  /** The Redis Cluster slot of a key: CRC16 of its hash tag, or of the whole key when it has none, mod 16384. */
  export default function calculateSlot(key: string | Buffer): number
}
