/**
 * The three PromQL forms the dashboard (deploy/grafana/chat-cluster.json) is written in, evaluated
 * over samples scraped from real nodes, so that bench/dashboard.ts draws every panel from its own
 * query. Any other form is refused, so the picture never comes from a query the dashboard lacks.
 *
 *   sum by (a, b) (m{x="v", y=~"re"})                                   gauges, summed
 *   sum by (a, b) (rate(m{…}[1m]))                                      counters, per second
 *   histogram_quantile(0.99, sum by (le, a) (rate(m_bucket{…}[1m])))    a quantile of a histogram
 *
 * rate() is the increase over the samples in the window divided by the time they span (counter
 * resets count as restarts from zero); unlike Prometheus it does not extrapolate to the window's edges.
 */
import type { Sample } from '../test/helpers/prometheus.js'

/** Every node's samples, scraped at one moment, by metric name. */
export interface Scrape {
  atMs: number
  byName: Map<string, Sample[]>
}

/** A scrape of `samples` taken at `atMs`. */
export function scrapeOf(atMs: number, samples: readonly Sample[]): Scrape {
  const byName = new Map<string, Sample[]>()
  for (const sample of samples) byName.get(sample.name)?.push(sample) ?? byName.set(sample.name, [sample])
  return { atMs, byName }
}

interface Matcher {
  label: string
  test: (value: string) => boolean
}

interface Query {
  quantile: number | undefined
  by: string[]
  rate: boolean
  metric: string
  matchers: Matcher[]
}

const WINDOW_MS = 60_000
const QUANTILE = /^histogram_quantile\((0\.\d+|1), (.+)\)$/
const SUM = /^sum by \(([a-z_]+(?:, [a-z_]+)*)\) \((.+)\)$/
const RATE = /^rate\((.+)\[1m\]\)$/
const SELECTOR = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?$/
const MATCHER = /^([a-zA-Z_]\w*)(=~|=)"([^"]*)"$/

function refuse(expr: string, why: string): never {
  throw new Error(`the dashboard evaluator refuses "${expr}": ${why}; it reads sum by (…) (m), sum by (…) (rate(m[1m])) and histogram_quantile(q, sum by (le, …) (rate(m_bucket[1m])))`)
}

export function parseQuery(expr: string): Query {
  const quantile = QUANTILE.exec(expr)
  const sum = SUM.exec(quantile ? (quantile[2] as string) : expr) ?? refuse(expr, 'not a sum by (…)')
  const rate = RATE.exec(sum[2] as string)
  const selector = SELECTOR.exec(rate ? (rate[1] as string) : (sum[2] as string)) ?? refuse(expr, 'not a metric selector')
  const matchers = (selector[2] ?? '')
    .split(',')
    .filter((m) => m.trim() !== '')
    .map((m): Matcher => {
      const [, label, op, value] = MATCHER.exec(m.trim()) ?? refuse(expr, `matcher ${m}`)
      const pattern = new RegExp(`^(?:${value})$`)
      return { label: label as string, test: op === '=' ? (v) => v === value : (v) => pattern.test(v) }
    })
  const query = { quantile: quantile ? Number(quantile[1]) : undefined, by: (sum[1] as string).split(', '), rate: !!rate, metric: selector[1] as string, matchers }
  if (query.quantile !== undefined && !(query.rate && query.by.includes('le') && query.metric.endsWith('_bucket')))
    refuse(expr, 'a quantile needs sum by (le, …) of rate(…_bucket[1m])')
  return query
}

const keyOf = (labels: Record<string, string>, names: readonly string[]) => JSON.stringify(names.map((n) => labels[n] ?? ''))
const selected = (query: Query, scrape: Scrape) =>
  (scrape.byName.get(query.metric) ?? []).filter((s) => query.matchers.every((m) => m.test(s.labels[m.label] ?? '')))

/** Per second over the window: the increase of each series from its first sample in it to its last. */
function rates(query: Query, window: readonly Scrape[]): Sample[] {
  const series = new Map<string, { sample: Sample; firstAtMs: number; lastAtMs: number; last: number; increase: number }>()
  for (const scrape of window) {
    for (const sample of selected(query, scrape)) {
      const key = keyOf(sample.labels, Object.keys(sample.labels).sort())
      const seen = series.get(key)
      if (!seen) series.set(key, { sample, firstAtMs: scrape.atMs, lastAtMs: scrape.atMs, last: sample.value, increase: 0 })
      else {
        seen.increase += sample.value >= seen.last ? sample.value - seen.last : sample.value
        seen.last = sample.value
        seen.lastAtMs = scrape.atMs
      }
    }
  }
  return [...series.values()]
    .filter((s) => s.lastAtMs > s.firstAtMs)
    .map((s) => ({ ...s.sample, value: s.increase / ((s.lastAtMs - s.firstAtMs) / 1000) }))
}

/** Prometheus' histogram_quantile over cumulative buckets: linear within the bucket the rank falls in. */
function quantileOf(q: number, buckets: { le: number; count: number }[]): number {
  buckets.sort((x, y) => x.le - y.le)
  const totalCount = buckets[buckets.length - 1]?.count ?? 0
  if (totalCount === 0) return Number.NaN
  const rank = q * totalCount
  const i = buckets.findIndex((b) => b.count >= rank)
  const bucket = buckets[i] as { le: number; count: number }
  if (bucket.le === Infinity) return buckets[i - 1]?.le ?? Number.NaN
  const below = buckets[i - 1] ?? { le: 0, count: 0 }
  return below.le + (bucket.le - below.le) * ((rank - below.count) / (bucket.count - below.count || 1))
}

/** The query's value of each group at the last scrape of `history`, by the group's labels. */
export function evaluate(query: Query, history: readonly Scrape[]): Map<string, { labels: Record<string, string>; value: number }> {
  const now = history[history.length - 1] as Scrape
  const input = query.rate ? rates(query, history.filter((s) => s.atMs > now.atMs - WINDOW_MS)) : selected(query, now)
  const groups = new Map<string, { labels: Record<string, string>; value: number }>()
  for (const sample of input) {
    const key = keyOf(sample.labels, query.by)
    const group = groups.get(key) ?? { labels: Object.fromEntries(query.by.map((n) => [n, sample.labels[n] ?? ''])), value: 0 }
    group.value += sample.value
    groups.set(key, group)
  }
  if (query.quantile === undefined) return groups
  const byRest = new Map<string, { labels: Record<string, string>; buckets: { le: number; count: number }[] }>()
  const rest = query.by.filter((n) => n !== 'le')
  for (const { labels, value } of groups.values()) {
    const key = keyOf(labels, rest)
    const found = byRest.get(key) ?? { labels: Object.fromEntries(rest.map((n) => [n, labels[n] ?? ''])), buckets: [] }
    found.buckets.push({ le: Number(labels.le === '+Inf' ? Infinity : labels.le), count: value })
    byRest.set(key, found)
  }
  const q = query.quantile
  return new Map([...byRest].map(([key, { labels, buckets }]) => [key, { labels, value: quantileOf(q, buckets) }]))
}
