import calculateSlot from 'cluster-key-slot'

/** Redis Cluster's hash slots. */
const SLOTS = 16_384

/** Tags tried per shard when looking for one whose slot lies near the shard's point. */
const TAG_CANDIDATES = 512

/** Which of `count` shards carries a conversation's events and typing signals. */
export const shardOf = (conversationId: number, count: number): number => conversationId % count

/** The i-th point of van der Corput's sequence in [0, 1): 0, 1/2, 1/4, 3/4, 1/8, … — any first n spread evenly. */
function spreadPoint(index: number): number {
  let point = 0
  let weight = 0.5
  for (let i = index; i > 0; i >>= 1, weight /= 2) if (i & 1) point += weight
  return point
}

/** The distance between two slots on the ring of slots. */
const slotDistance = (a: number, b: number) => Math.min(Math.abs(a - b), SLOTS - Math.abs(a - b))

/**
 * The keys of the shards of the stream `base`, by index (each worked out once).
 *
 * Shard 0 is `base` itself: the stream the bus used before it was sharded, which every node reads
 * whatever its shard count; control messages and notices travel there. Shard i ≥ 1 is
 * `base:{tag}`, its hash tag chosen so that its slot lies near the i-th point of an evenly spreading
 * sequence. So shards 1 … N−1 spread evenly over the slot space for any N, and Redis Cluster, which
 * gives each master a contiguous range of slots, puts them on different masters in turn. A shard's
 * key depends on its index alone: it stays the same when the shard count changes.
 */
export function shardKeys(base: string): (index: number) => string {
  const keys = [base]
  return (index) => (keys[index] ??= `${base}:{${tagOf(index)}}`)
}

/** Shard `index`'s hash tag: `index.n`, with the n whose slot lies nearest the shard's point of the slot space. */
function tagOf(index: number): string {
  const target = Math.round(spreadPoint(index) * SLOTS) % SLOTS
  let best = ''
  let bestDistance = Number.POSITIVE_INFINITY
  for (let candidate = 0; candidate < TAG_CANDIDATES; candidate++) {
    const tag = `${index}.${candidate}`
    const distance = slotDistance(calculateSlot(tag), target)
    if (distance < bestDistance) [best, bestDistance] = [tag, distance]
  }
  return best
}
