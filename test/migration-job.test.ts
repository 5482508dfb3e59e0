import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { freePort, spawnNode, stopNodes } from '../deploy/spawn-node.js'
import { ensureDatabase } from '../src/storage/db.js'
import { createConversation, postMessage, register } from './helpers/http-client.js'
import { isolatedEnvironment } from './helpers/isolation.js'
import { testNodeEnv } from './helpers/node-env.js'

// Kubernetes runs the migrations as a Job before the new nodes, which start with MIGRATE_ON_START=false.
const migrateScript = fileURLToPath(new URL('../src/migrate.ts', import.meta.url))
const run = promisify(execFile)

async function environment(t: Parameters<typeof isolatedEnvironment>[0], label: string) {
  const isolated = await isolatedEnvironment(t, label)
  const env = {
    DATABASE_URL: isolated.databaseUrl,
    REDIS_URL: isolated.redisUrl,
    REDIS_PREFIX: isolated.redisPrefix,
    ...(await testNodeEnv()),
    MIGRATE_ON_START: 'false',
  }
  return { env, databaseUrl: isolated.databaseUrl }
}

t.test('a node that does not migrate refuses a database that lacks migrations, naming them', async (t) => {
  const { env, databaseUrl } = await environment(t, 'migration_job_refused')
  await ensureDatabase(databaseUrl)
  const failure = await spawnNode(await freePort(), env).then(
    () => undefined,
    (err: Error) => err,
  )
  t.match(failure?.message, /exited with 1 /)
  t.match(failure?.message, /the database lacks migrations 0001_initial, .*0006_signing_keys(, \w+)*: run the migration job \(npm run migrate\)/)
})

t.test('the migration job creates and migrates the database; nodes then start without migrating', async (t) => {
  const { env } = await environment(t, 'migration_job')
  const job = await run(process.execPath, ['--import', 'tsx', migrateScript], { env: { ...process.env, ...env } })
  t.match(job.stdout, /^applied 0001_initial, /)
  const again = await run(process.execPath, ['--import', 'tsx', migrateScript], { env: { ...process.env, ...env } })
  t.equal(again.stdout.trim(), 'the database is up to date', 'running it again changes nothing')
  const node = await spawnNode(await freePort(), env)
  t.teardown(() => stopNodes([node]))
  t.notOk(node.output.some((line) => line.includes('applied migrations')), 'the node applied nothing')
  const alice = await register(node.url)
  const { id } = await createConversation(node.url, alice.cookie)
  t.equal((await postMessage(node.url, alice.cookie, id, 'after the job')).status, 201)
})
