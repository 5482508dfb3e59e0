import { readFileSync } from 'node:fs'
import t from 'tap'
import { evaluate, parseQuery, scrapeOf } from '../bench/promql.js'
import { startNode } from './helpers/in-process.js'
import type { Sample } from './helpers/prometheus.js'

const dashboard = JSON.parse(readFileSync(new URL('../deploy/grafana/chat-cluster.json', import.meta.url), 'utf8'))
const queries: string[] = dashboard.panels.flatMap((p: { targets?: { expr: string }[] }) => (p.targets ?? []).map((target) => target.expr))

t.test("every query of the dashboard is a form bench/promql.ts evaluates, on a metric the node declares", async (t) => {
  const token = 'dashboard-test-token'
  const { url } = await startNode(t, 'dashboard', { METRICS_TOKEN: token })
  const exposition = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text()
  t.ok(queries.length > 20, `${queries.length} queries`)
  for (const expr of queries) {
    const family = parseQuery(expr).metric.replace(/_(bucket|sum|count)$/, '')
    t.ok(exposition.includes(`# TYPE ${family} `), `${family}: ${expr}`)
  }
})

t.test('any other form is refused, so the picture comes from the queries themselves', async (t) => {
  const others = [
    'chat_ws_sockets_open',
    'avg by (node) (chat_ws_sockets_open)',
    'sum(chat_ws_sockets_open)',
    'sum by (node) (rate(chat_events_relayed_total[5m]))',
    'sum by (node) (chat_ws_sockets_open) / 2',
    'histogram_quantile(0.99, sum by (node) (rate(chat_fanout_events_bucket[1m])))',
  ]
  for (const expr of others) {
    t.throws(() => parseQuery(expr), { message: /refuses/ }, expr)
  }
})

const sample = (name: string, value: number, labels: Record<string, string> = {}): Sample => ({ name, labels: { node: 'a', ...labels }, value })

t.test('rates, sums and quantiles as Prometheus computes them, over the last minute', async (t) => {
  const history = [
    scrapeOf(0, [sample('m_total', 10), sample('h_bucket', 0, { le: '1' }), sample('h_bucket', 0, { le: '10' }), sample('h_bucket', 0, { le: '+Inf' })]),
    scrapeOf(10_000, [sample('m_total', 30), sample('h_bucket', 50, { le: '1' }), sample('h_bucket', 100, { le: '10' }), sample('h_bucket', 100, { le: '+Inf' })]),
    // A restart: the counter starts again from zero.
    scrapeOf(20_000, [sample('m_total', 5), sample('h_bucket', 50, { le: '1' }), sample('h_bucket', 100, { le: '10' }), sample('h_bucket', 100, { le: '+Inf' })]),
  ]
  const value = (expr: string) => [...evaluate(parseQuery(expr), history).values()].map((g) => g.value)
  t.same(value('sum by (node) (rate(m_total[1m]))'), [(20 + 5) / 20], 'increase over the window, resets included')
  t.same(value('sum by (node) (m_total)'), [5], 'the last scrape')
  t.same(value('histogram_quantile(0.5, sum by (le) (rate(h_bucket[1m])))'), [1], 'the median at the edge of the first bucket')
  t.same(value('histogram_quantile(0.75, sum by (le) (rate(h_bucket[1m])))'), [5.5], 'linear within the bucket')
})
