import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

/** The module map of docs/architecture.md holds the imports of src/, and src/ holds the rules it states. */

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const src = join(root, 'src')
/** Imported nearly everywhere; the map leaves them out and says so. */
const LEFT_OUT = new Set(['errors', 'logger'])
const MOST_LINES = 300

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  )

/** A folder of src/, or a file at its top without its extension. */
const moduleOf = (file: string) => relative(src, file).split('/')[0]?.replace(/\.(ts|js)$/, '') as string

function importedModules(): Set<string> {
  const arrows = new Set<string>()
  for (const file of sourceFiles(src)) {
    // A JSON import (package.json, for the version) is data, not a module.
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+(?<!\.json))'/g)) {
      const from = moduleOf(file)
      const to = moduleOf(normalize(join(dirname(file), specifier as string)))
      if (from !== to && !LEFT_OUT.has(to)) arrows.add(`${from} --> ${to}`)
    }
  }
  return arrows
}

function mappedModules(): Set<string> {
  const doc = readFileSync(join(root, 'docs/architecture.md'), 'utf8')
  const block = /```mermaid\n([\s\S]*?)```/.exec(doc)?.[1] ?? ''
  return new Set([...block.matchAll(/^\s*(\w+) --> (\w+)\s*$/gm)].map(([, from, to]) => `${from} --> ${to}`))
}

t.test("the module map's arrows are the imports between the modules of src/", async (t) => {
  const imports = importedModules()
  const map = mappedModules()
  t.ok(map.size > 0, 'the map has arrows')
  t.same([...imports].filter((arrow) => !map.has(arrow)).sort(), [], 'every import is on the map')
  t.same([...map].filter((arrow) => !imports.has(arrow)).sort(), [], 'every arrow on the map is an import')
})

t.test('the hub and the bus know no database and no domain; the protocol imports nothing of ours', async (t) => {
  const imports = importedModules()
  const from = (module: string) => [...imports].filter((arrow) => arrow.startsWith(`${module} -->`)).sort()
  t.same(from('hub'), ['hub --> protocol'])
  t.same(from('bus'), ['bus --> protocol', 'bus --> redis'])
  t.same(from('protocol'), [])
})

t.test(`no source file of the server or the client SDK is over ${MOST_LINES} lines`, async (t) => {
  const long = [...sourceFiles(src), ...sourceFiles(join(root, 'client/src'))]
    .map((file) => ({ file: relative(root, file), lines: readFileSync(file, 'utf8').split('\n').length - 1 }))
    .filter(({ lines }) => lines > MOST_LINES)
  t.same(long, [])
})
