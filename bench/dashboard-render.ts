/** Draws evaluated dashboard panels as SVG line charts on one HTML page, in the dashboard's rows. */

export interface Series {
  legend: string
  /** [seconds since the first scrape, value]; NaN values are gaps. */
  points: [number, number][]
}

export interface PanelView {
  title: string
  /** The Grafana unit of the panel. */
  unit: string
  series: Series[]
}

export interface RowView {
  title: string
  panels: PanelView[]
}

const COLOURS = ['#73bf69', '#f2cc0c', '#8ab8ff', '#ff780a', '#f2495c', '#5794f2', '#b877d9', '#fade2a', '#c0d8ff']
/** The page's width for panels: a row's panels share it, as in Grafana's 24-column grid. */
const PAGE = 1660
const GAP = 8
const HEIGHT = 190
const LEFT = 64
const BOTTOM = 18

/** The multiple of a unit a value is shown in: Grafana's bytes are IEC (KiB), its bytes per second SI (kB/s). */
function scaleOf(value: number, unit: string): { divisor: number; suffix: string } {
  if (unit === 's') return value < 1 ? { divisor: 0.001, suffix: ' ms' } : { divisor: 1, suffix: ' s' }
  const [base, suffixes] = unit === 'bytes' ? [1024, [' B', ' KiB', ' MiB', ' GiB']] : unit === 'Bps' ? [1000, [' B', ' kB', ' MB', ' GB']] : [1000, ['', 'K', 'M', 'G']]
  let i = 0
  while (Math.abs(value) >= base ** (i + 1) && i < suffixes.length - 1) i++
  const rate = unit === 'ops' || unit === 'reqps' || unit === 'Bps' ? '/s' : ''
  return { divisor: base ** i, suffix: `${suffixes[i]}${rate}` }
}

/** A value with its Grafana unit, as the axis shows it. */
function format(value: number, unit: string, scale = scaleOf(value, unit)): string {
  return value === 0 ? '0' : `${+(value / scale.divisor).toPrecision(3)}${scale.suffix}`
}

/** A top for the axis whose quarters are round: 1, 2, 4 or 8 times a power of ten of the unit's multiple, at least `max`. */
function niceTop(max: number, unit: string): number {
  if (!(max > 0)) return 1
  const { divisor } = scaleOf(max, unit)
  const power = 10 ** Math.floor(Math.log10(max / divisor))
  return ([1, 2, 4, 8, 10].find((m) => m * power * divisor >= max) as number) * power * divisor
}

const escape = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)

function chart(panel: PanelView, seconds: number, width: number): string {
  const WIDTH = width - 14
  const values = panel.series.flatMap((s) => s.points.map(([, v]) => v)).filter((v) => Number.isFinite(v))
  const top = niceTop(Math.max(0, ...values), panel.unit)
  const scale = scaleOf(top, panel.unit)
  const x = (t: number) => LEFT + (t / seconds) * (WIDTH - LEFT - 8)
  const y = (v: number) => 8 + (1 - v / top) * (HEIGHT - BOTTOM - 8)
  const grid = [0, 0.25, 0.5, 0.75, 1].map(
    (f) => `<line x1="${LEFT}" x2="${WIDTH - 8}" y1="${y(f * top)}" y2="${y(f * top)}" class="grid"/><text x="${LEFT - 6}" y="${y(f * top) + 4}" class="tick" text-anchor="end">${escape(format(f * top, panel.unit, scale))}</text>`,
  )
  const times = Array.from({ length: Math.floor(seconds / 15) + 1 }, (_, i) => i * 15).map(
    (t) => `<text x="${x(t)}" y="${HEIGHT - 4}" class="tick" text-anchor="middle">${Math.floor(t / 60)}:${String(t % 60).padStart(2, '0')}</text>`,
  )
  const lines = panel.series.map((s, i) => {
    // A NaN (no data: a quantile of nothing) breaks the line.
    const path = s.points.map(([t, v], j) => (Number.isFinite(v) ? `${j > 0 && Number.isFinite(s.points[j - 1]?.[1]) ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}` : '')).join('')
    return `<path d="${path}" stroke="${COLOURS[i % COLOURS.length]}" class="line"/>`
  })
  const legend = panel.series.map((s, i) => `<span><i style="background:${COLOURS[i % COLOURS.length]}"></i>${escape(s.legend)}</span>`)
  const empty = panel.series.length === 0 ? `<text x="${WIDTH / 2}" y="${HEIGHT / 2}" class="tick" text-anchor="middle">no data</text>` : ''
  return `<div class="panel" style="width:${WIDTH}px"><h3>${escape(panel.title)}</h3><svg width="${WIDTH}" height="${HEIGHT}">${grid.join('')}${times.join('')}${lines.join('')}${empty}</svg><div class="legend">${legend.join('')}</div></div>`
}

const STYLE = `
body { margin: 0; padding: 12px 16px; background: #111217; color: #ccccdc; font: 12px Inter, Helvetica, Arial, sans-serif; width: ${PAGE}px; }
h1 { font-size: 17px; font-weight: 500; margin: 0 0 2px; } p.note { margin: 0 0 8px; color: #8e8e9a; }
h2 { font-size: 14px; font-weight: 500; margin: 10px 0 6px; }
.row { display: flex; gap: ${GAP}px; } .panel { background: #181b1f; border: 1px solid #2c3235; border-radius: 3px; padding: 6px 6px 4px; }
h3 { font-size: 13px; font-weight: 500; margin: 0 0 2px; }
.grid { stroke: #2c3235; } .tick { fill: #9fa1ab; font-size: 11px; } .line { fill: none; stroke-width: 1.5; }
.legend { display: flex; flex-wrap: wrap; gap: 2px 10px; min-height: 14px; } .legend i { display: inline-block; width: 12px; height: 3px; margin: 0 4px 3px 0; }
`

/** The page: a heading, then each row of the dashboard with its panels side by side. */
export function renderDashboard(title: string, note: string, rows: readonly RowView[], seconds: number): string {
  const body = rows.map((row) => {
    const width = Math.floor((PAGE - GAP * (row.panels.length - 1)) / row.panels.length)
    return `<h2>${escape(row.title)}</h2><div class="row">${row.panels.map((p) => chart(p, seconds, width)).join('')}</div>`
  })
  return `<!doctype html><html><head><meta charset="utf-8"><style>${STYLE}</style></head><body><h1>${escape(title)}</h1><p class="note">${escape(note)}</p>${body.join('')}</body></html>`
}
