import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { freePort, spawnNode, stopNodes } from '../deploy/spawn-node.js'
import { createConversation, postMessage, register, request } from './helpers/http-client.js'
import { isolatedEnvironment } from './helpers/isolation.js'
import { testNodeEnv } from './helpers/node-env.js'

/**
 * Production runs the compiled JavaScript, with no TypeScript loader and with source maps: `npm
 * start` builds dist/ (prestart) and runs it. This builds dist/ as `npm run build` does and runs a
 * node from it the same way.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const run = promisify(execFile)
// Plain processes: `env -u` drops the loaders that tap adds to every child's NODE_OPTIONS.
const plainNode = (args: string[]) => run('env', ['-u', 'NODE_OPTIONS', process.execPath, ...args], { cwd: root })
await plainNode([join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'])

t.test('npm start runs the compiled server, with source maps and no loader', async (t) => {
  const { scripts } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'))
  t.match(scripts.prestart, /npm run build\b/, 'npm start builds first, so that it works right after npm ci')
  t.equal(scripts.start, 'node --enable-source-maps dist/src/server.js')
  t.match(scripts.dev, /tsx watch src\/server\.ts/, 'the development start reloads on change')
})

t.test('the compiled node migrates a new database, serves the API and the web client, and drains', async (t) => {
  const isolated = await isolatedEnvironment(t, 'production_start')
  const node = await spawnNode(
    await freePort(),
    { DATABASE_URL: isolated.databaseUrl, REDIS_URL: isolated.redisUrl, REDIS_PREFIX: isolated.redisPrefix, ...(await testNodeEnv()) },
    undefined,
    { from: 'compiled' },
  )
  t.teardown(() => stopNodes([node]))
  t.equal((await request(node.url, 'GET', '/readyz')).status, 200)
  const page = await fetch(`${node.url}/`)
  t.equal(page.status, 200, 'the web client is found from dist/ too')
  t.match(await page.text(), /<html/)
  const alice = await register(node.url)
  const { id } = await createConversation(node.url, alice.cookie)
  t.equal((await postMessage(node.url, alice.cookie, id, 'compiled')).status, 201)
  t.same(await stopNodes([node]), [0], 'SIGTERM drains and exits 0')
})

t.test("the compiled code's stack traces point at the TypeScript sources", async (t) => {
  const config = pathToFileURL(join(root, 'dist/src/config.js')).href
  const script = `const { loadConfig } = await import(${JSON.stringify(config)}); try { loadConfig({ PORT: 'x' }) } catch (err) { console.log(err.stack) }`
  const { stdout } = await plainNode(['--enable-source-maps', '--input-type=module', '-e', script])
  t.match(stdout, /PORT must be a whole number/)
  t.match(stdout, /src\/config\.ts:\d+:\d+/, 'a frame in src/config.ts, mapped from dist/src/config.js')
})
