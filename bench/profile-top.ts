/**
 * Where a node's time went, from .cpuprofile files written by
 * `BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" npm run bench`.
 *
 *   node --import tsx bench/profile-top.ts [--from US --to US] DIR/*.cpuprofile
 *
 * --from/--to keep only the samples of one step: each row in bench/results/*.jsonl has its
 * `windowUs`, on the clock the profiles use. Prints self time by package and by function, and
 * inclusive time (the function and everything it called) of the project's own functions.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

const selfByFunction = new Map<string, number>()
const selfByPackage = new Map<string, number>()
const inclusiveOwn = new Map<string, number>()
let total = 0

/** node_modules/<pkg>, node:internal, the project's own folder, or the engine. */
function packageOf(url: string): string {
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (dep) return dep[1] as string
  if (url.startsWith('node:')) return 'node'
  const own = /\/(src|bench|deploy)\/([^/]+)/.exec(url)
  if (own) return `${own[1]}/${own[2]}`
  return url === '' ? '(engine: gc, native, syscalls)' : url
}

const isOwn = (url: string) => /\/(src|bench|deploy)\//.test(url) && !url.includes('node_modules')

function nameOf({ functionName, url, lineNumber }: ProfileNode['callFrame']): string {
  const where = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench|deploy)\//, '$1/')
  return `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`
}

const add = (map: Map<string, number>, key: string, n: number) => map.set(key, (map.get(key) ?? 0) + n)

const { values, positionals } = parseArgs({
  options: { from: { type: 'string', default: '0' }, to: { type: 'string', default: String(Number.MAX_SAFE_INTEGER) } },
  allowPositionals: true,
})
const from = Number(values.from)
const to = Number(values.to)

/** Samples per profile node, counting only those taken inside [from, to]. */
function hitsInWindow(profile: Profile): Map<number, number> {
  const hits = new Map<number, number>()
  let at = profile.startTime
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0
    if (at >= from && at <= to) hits.set(id, (hits.get(id) ?? 0) + 1)
  })
  return hits
}

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parentOf = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id)
  for (const [id, hits] of hitsInWindow(profile)) {
    const node = byId.get(id) as ProfileNode
    if (node.callFrame.functionName === '(idle)') continue
    total += hits
    add(selfByFunction, nameOf(node.callFrame), hits)
    add(selfByPackage, packageOf(node.callFrame.url), hits)
    // Each own function on the stack once, however deep it recursed.
    const onStack = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const frame = (byId.get(at) as ProfileNode).callFrame
      if (isOwn(frame.url)) onStack.add(nameOf(frame))
    }
    for (const name of onStack) add(inclusiveOwn, name, hits)
  }
}

const top = (map: Map<string, number>, n: number) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, hits]) => `${((hits / total) * 100).toFixed(1).padStart(5)}%  ${name}`)
    .join('\n')
console.log(
  `busy samples: ${total}\n\nself, by package:\n${top(selfByPackage, 15)}\n\nself, by function:\n${top(selfByFunction, 30)}` +
    `\n\ninclusive, the project's own functions:\n${top(inclusiveOwn, 25)}`,
)
