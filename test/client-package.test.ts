import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'

/**
 * @chat-cluster/client builds on its own to ESM with declarations, and what it builds needs nothing
 * at run time but its own files: no Node module, no package (a browser can load it as it is).
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const clientDir = join(root, 'client')
const run = promisify(execFile)

t.test('the package builds to ESM and .d.ts, and its entry loads with no dependency', async (t) => {
  const outDir = await mkdtemp(join(tmpdir(), 'chat-client-build-'))
  t.teardown(() => rm(outDir, { recursive: true, force: true }))
  // The compiler runs as a plain process: `env -u` drops the hooks that tap adds to every child's NODE_OPTIONS.
  const tsc = join(root, 'node_modules/typescript/bin/tsc')
  await run('env', ['-u', 'NODE_OPTIONS', process.execPath, tsc, '-p', join(clientDir, 'tsconfig.json'), '--outDir', outDir])
  const manifest = JSON.parse(await readFile(join(clientDir, 'package.json'), 'utf8'))
  t.equal(manifest.name, '@chat-cluster/client')
  t.equal(manifest.type, 'module')
  const entry = manifest.exports['.']
  const relativeTo = (file: string) => join(outDir, file.replace(/^\.\/dist\//, ''))
  const declarations = await readFile(relativeTo(entry.types), 'utf8')
  t.match(declarations, /export \{ ChatClient/, 'declarations name ChatClient')

  // Every module the entry reaches, and every import in them.
  const seen = new Set<string>()
  const imports: string[] = []
  const visit = async (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    const code = await readFile(file, 'utf8')
    for (const [, specifier] of code.matchAll(/^\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
      imports.push(specifier as string)
      if (specifier!.startsWith('.')) await visit(resolve(dirname(file), specifier!))
    }
  }
  await visit(relativeTo(entry.import))
  t.same(
    imports.filter((specifier) => !specifier.startsWith('.')),
    [],
    'only its own modules: nothing from Node or a package',
  )

  const built = await import(pathToFileURL(relativeTo(entry.import)).href)
  const client = new built.ChatClient({ urls: ['http://127.0.0.1:1'] })
  t.equal(client.state, 'idle')
  client.close()
})
