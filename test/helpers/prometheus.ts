/** The Prometheus text exposition format (0.0.4), read strictly: what the tests and bench/dashboard.ts scrape. */

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const META = new RegExp(`^# (HELP|TYPE) (${NAME}) (.*)$`)
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`)
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(,|$)/y
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
/** The series a family of each type may have beside its own name. */
const SUFFIXES = /(_bucket|_sum|_count)$/

function labelsOf(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {}
  LABEL.lastIndex = 0
  while (LABEL.lastIndex < text.length) {
    const match = LABEL.exec(text)
    if (!match) throw new Error(`malformed labels in: ${line}`)
    labels[match[1] as string] = (match[2] as string).replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c))
  }
  return labels
}

/** As Prometheus reads a value (Go's ParseFloat): NaN and Inf in any letter case; prom-client writes "Nan". */
function valueOf(text: string, line: string): number {
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(text)
  if (special) return special[2]?.toLowerCase() === 'nan' ? Number.NaN : special[1] === '-' ? -Infinity : Infinity
  const value = Number(text)
  if (text === '' || Number.isNaN(value)) throw new Error(`malformed value in: ${line}`)
  return value
}

/** Every sample of an exposition; a line that is not a comment, HELP, TYPE or a sample of a typed family throws. */
export function parseExposition(text: string): Sample[] {
  const typed = new Map<string, string>()
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '') continue
    const meta = META.exec(line)
    if (meta) {
      if (meta[1] === 'TYPE' && !TYPES.has(meta[3] as string)) throw new Error(`unknown type in: ${line}`)
      if (meta[1] === 'TYPE') typed.set(meta[2] as string, meta[3] as string)
      continue
    }
    if (line.startsWith('#')) continue
    const sample = SAMPLE.exec(line)
    if (!sample) throw new Error(`not a sample: ${line}`)
    const name = sample[1] as string
    if (!typed.has(name) && !typed.has(name.replace(SUFFIXES, ''))) throw new Error(`a sample of no declared family: ${line}`)
    samples.push({ name, labels: labelsOf(sample[2] ?? '', line), value: valueOf(sample[3] as string, line) })
  }
  return samples
}

/** The sum of the samples named `name` whose labels include `labels`. */
export function total(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0)
}
