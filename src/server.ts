import { buildApp } from './app.js'
import { chooseBackends } from './backends.js'
import { loadConfig } from './config.js'
import { ConfigError } from './errors.js'
import { pendingMigrations, prepareDatabase } from './storage/migrate.js'

async function main(): Promise<void> {
  const config = loadConfig()
  const backends = await chooseBackends(config)
  const applied = config.migrateOnStart ? await prepareDatabase(backends.databaseUrl) : []
  const pending = config.migrateOnStart ? [] : await pendingMigrations(backends.databaseUrl)
  if (pending.length > 0) {
    console.error(`the database lacks migrations ${pending.join(', ')}: run the migration job (npm run migrate) first, or set MIGRATE_ON_START=true`)
    process.exit(1)
  }
  const app = await buildApp(config, backends)
  if (applied.length > 0) app.log.info({ applied }, 'applied migrations')

  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    app.log.info(
      { signal, drainMs: config.shutdownDrainMs, closeWindowMs: config.shutdownCloseWindowMs },
      'shutting down: /readyz answers 503; sockets close with 1012 after the drain delay, then requests in flight finish',
    )
    const deadline = setTimeout(() => {
      app.log.error('shutdown took longer than SHUTDOWN_GRACE_MS; exiting')
      process.exit(1)
    }, config.shutdownGraceMs)
    deadline.unref()
    await app.drain()
    await app.close()
    process.exit(0)
  }
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGINT', () => void stop('SIGINT'))

  await app.listen({ host: config.host, port: config.port })
}

// A bad setting (found when reading the environment, or the keys or the first admin at start-up) exits 2.
main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(`configuration error: ${err.message}`)
    process.exit(2)
  }
  console.error(err)
  process.exit(1)
})
