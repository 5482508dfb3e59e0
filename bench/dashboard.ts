/**
 * node --import tsx bench/dashboard.ts [--seconds 80] [--out docs/dashboard.png]
 *
 * The picture of deploy/grafana/chat-cluster.json in docs/operations.md, made without Grafana or
 * Prometheus: starts 3 real nodes (a fresh database; each with a METRICS_PORT), puts the load of
 * dashboard-load.ts on them, scrapes every node's /metrics once a second, evaluates each panel's own
 * queries on those scrapes (promql.ts, which refuses any form it does not know), and has Chromium
 * render the panels, drawn as SVG charts (dashboard-render.ts), to a PNG.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { chromium } from 'playwright-core'
import { freePorts } from '../deploy/spawn-node.js'
import { CHROMIUM } from '../test/helpers/browser.js'
import { parseExposition } from '../test/helpers/prometheus.js'
import { startBenchCluster } from './cluster.js'
import { startLoad } from './dashboard-load.js'
import { type RowView, renderDashboard } from './dashboard-render.js'
import { type Scrape, evaluate, parseQuery, scrapeOf } from './promql.js'

interface Panel {
  type: string
  title: string
  fieldConfig?: { defaults: { unit: string } }
  targets?: { expr: string; legendFormat: string }[]
}

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '80' }, out: { type: 'string', default: 'docs/dashboard.png' } },
})
const seconds = Number(values.seconds)
const dashboard = JSON.parse(readFileSync(fileURLToPath(new URL('../deploy/grafana/chat-cluster.json', import.meta.url)), 'utf8')) as {
  title: string
  panels: Panel[]
}
// Every query is parsed before anything starts: one the evaluator refuses stops the script here.
const panels = dashboard.panels.map((panel) => ({ ...panel, queries: (panel.targets ?? []).map((target) => ({ ...target, query: parseQuery(target.expr) })) }))

const metricsPorts = await freePorts(3)
const cluster = await startBenchCluster(3, {
  nodeEnv: (i) => ({
    METRICS_PORT: String(metricsPorts[i]),
    // On, unlike in the benchmark, so that a user over it shows as 429s.
    RATE_LIMIT_MESSAGES: '300/10',
  }),
})
const scrapes: Scrape[] = []
try {
  const load = await startLoad(cluster.urls, cluster.databaseUrl as string)
  const started = Date.now()
  while (Date.now() - started < seconds * 1000) {
    const next = Date.now() + 1000
    const all = await Promise.all(metricsPorts.map(async (port) => parseExposition(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())))
    scrapes.push(scrapeOf(Date.now() - started, all.flat()))
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())))
  }
  await load.stop()
} finally {
  await cluster.stop()
}

// Each panel's queries at every scrape, over the scrapes up to it, as Grafana's range query would ask.
const rows: RowView[] = []
for (const panel of panels) {
  if (panel.type === 'row') {
    rows.push({ title: panel.title, panels: [] })
    continue
  }
  const series = new Map<string, [number, number][]>()
  for (const { query, legendFormat } of panel.queries) {
    for (let i = 0; i < scrapes.length; i++) {
      const atSeconds = (scrapes[i] as Scrape).atMs / 1000
      for (const { labels, value } of evaluate(query, scrapes.slice(0, i + 1)).values()) {
        const legend = legendFormat.replace(/\{\{(\w+)\}\}/g, (_, name: string) => labels[name] ?? '')
        series.get(legend)?.push([atSeconds, value]) ?? series.set(legend, [[atSeconds, value]])
      }
    }
  }
  rows[rows.length - 1]?.panels.push({
    title: panel.title,
    unit: panel.fieldConfig?.defaults.unit ?? 'short',
    series: [...series].sort(([a], [b]) => a.localeCompare(b)).map(([legend, points]) => ({ legend, points })),
  })
}

const note = `deploy/grafana/chat-cluster.json, not drawn by Grafana: each panel's own PromQL evaluated by bench/promql.ts on /metrics of 3 real nodes, scraped every second for ${seconds} s under the load of bench/dashboard-load.ts (bench/dashboard.ts).`
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless'] })
try {
  const page = await browser.newPage({ viewport: { width: 1700, height: 1000 } })
  await page.setContent(renderDashboard(dashboard.title, note, rows, seconds))
  await page.screenshot({ path: values.out, fullPage: true })
} finally {
  await browser.close()
}
console.log(`${values.out}: ${rows.reduce((n, r) => n + r.panels.length, 0)} panels from ${scrapes.length} scrapes of ${metricsPorts.length} nodes`)
