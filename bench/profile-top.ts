/**
 * Where a node's time went: self time by function and by package from .cpuprofile files written by
 * `BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" npm run bench`.
 *
 *   node --import tsx bench/profile-top.ts [--skip SECONDS] DIR/*.cpuprofile
 *
 * --skip leaves out each profile's first seconds (start-up, user registration) to see steady load.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
}

const byFunction = new Map<string, number>()
const byPackage = new Map<string, number>()
let total = 0

/** node_modules/<pkg>, node:internal, the project's own folder, or the engine. */
function packageOf(url: string): string {
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (dep) return dep[1] as string
  if (url.startsWith('node:')) return 'node'
  const own = /\/(src|bench|deploy)\/([^/]+)/.exec(url)
  if (own) return `${own[1]}/${own[2]}`
  return url === '' ? '(engine: gc, native, idle)' : url
}

const { values, positionals } = parseArgs({ options: { skip: { type: 'string', default: '0' } }, allowPositionals: true })
const skipMicros = Number(values.skip) * 1e6

/** Samples per profile node, counting only those taken after the skipped start. */
function hitsAfterSkip(profile: { samples: number[]; timeDeltas: number[] }): Map<number, number> {
  const hits = new Map<number, number>()
  let elapsed = 0
  profile.samples.forEach((id, i) => {
    elapsed += profile.timeDeltas[i] ?? 0
    if (elapsed >= skipMicros) hits.set(id, (hits.get(id) ?? 0) + 1)
  })
  return hits
}

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }
  const hitsOf = hitsAfterSkip(profile)
  for (const node of profile.nodes) {
    const hits = hitsOf.get(node.id) ?? 0
    if (hits === 0) continue
    const { functionName, url, lineNumber } = node.callFrame
    if (functionName === '(idle)') continue
    total += hits
    const name = `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench|deploy)\//, '$1/')}:${lineNumber + 1}`
    byFunction.set(name, (byFunction.get(name) ?? 0) + hits)
    const pkg = packageOf(url)
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + hits)
  }
}

const top = (map: Map<string, number>, n: number) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, hits]) => `${((hits / total) * 100).toFixed(1).padStart(5)}%  ${name}`)
    .join('\n')
console.log(`busy samples: ${total}\n\nby package:\n${top(byPackage, 15)}\n\nby function:\n${top(byFunction, 30)}`)
