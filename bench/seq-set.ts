/** A growable set of seqs above an origin, one bit each: 2,000 sockets × 10,000 seqs fit in 2.5 MB. */
export class SeqSet {
  private bits = new Uint32Array(4)

  constructor(private readonly origin: number) {}

  /** Adds a seq; false when it was there already, or at or below the origin (sent before, so a repeat). */
  add(seq: number): boolean {
    const i = seq - this.origin - 1
    if (i < 0) return false
    const word = i >>> 5
    if (word >= this.bits.length) {
      const grown = new Uint32Array(Math.max(word + 1, this.bits.length * 2))
      grown.set(this.bits)
      this.bits = grown
    }
    const mask = 1 << (i & 31)
    if ((this.bits[word] as number) & mask) return false
    this.bits[word] = (this.bits[word] as number) | mask
    return true
  }

  has(seq: number): boolean {
    const i = seq - this.origin - 1
    if (i < 0) return true
    return (((this.bits[i >>> 5] ?? 0) >>> (i & 31)) & 1) === 1
  }
}

/** Sorted, merged inclusive ranges of a list of seqs. */
export function toRanges(seqs: number[]): [number, number][] {
  const sorted = [...seqs].sort((a, b) => a - b)
  const ranges: [number, number][] = []
  for (const seq of sorted) {
    const last = ranges[ranges.length - 1]
    if (last && seq <= last[1] + 1) last[1] = Math.max(last[1], seq)
    else ranges.push([seq, seq])
  }
  return ranges
}

export function countRanges(ranges: readonly [number, number][]): number {
  return ranges.reduce((n, [from, to]) => n + to - from + 1, 0)
}
