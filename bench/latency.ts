import { type Histogram, build, decodeFromCompressedBase64, encodeIntoCompressedBase64 } from 'hdr-histogram-js'

/** Latencies in microseconds, from 1 µs to an hour, to 3 significant digits. */
export function latencyHistogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 })
}

export const encodeHistogram = (histogram: Histogram): string => encodeIntoCompressedBase64(histogram)

export interface LatencySummary {
  count: number
  p50: number
  p99: number
  p999: number
  max: number
}

/** Merges the histograms of several processes into milliseconds. */
export function summarise(encoded: readonly string[]): LatencySummary {
  const total = latencyHistogram()
  for (const base64 of encoded) total.add(decodeFromCompressedBase64(base64))
  const ms = (us: number) => Math.round(us / 10) / 100
  return {
    count: total.totalCount,
    p50: ms(total.getValueAtPercentile(50)),
    p99: ms(total.getValueAtPercentile(99)),
    p999: ms(total.getValueAtPercentile(99.9)),
    max: ms(total.maxValue),
  }
}

/** Epoch time in milliseconds with sub-millisecond precision, comparable between processes on one machine. */
export const epochNow = (): number => performance.timeOrigin + performance.now()
