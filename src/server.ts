import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'
import { prepareDatabase } from './storage/migrate.js'

async function main(): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    console.error(`configuration error: ${err.message}`)
    process.exit(2)
  }
  const applied = await prepareDatabase(config.databaseUrl)
  const app = await buildApp(config)
  if (applied.length > 0) app.log.info({ applied }, 'applied migrations')

  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    app.log.info({ signal }, 'shutting down: closing sockets with 1012 and finishing requests in flight')
    const deadline = setTimeout(() => {
      app.log.error('shutdown took longer than SHUTDOWN_GRACE_MS; exiting')
      process.exit(1)
    }, config.shutdownGraceMs)
    deadline.unref()
    await app.close()
    process.exit(0)
  }
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGINT', () => void stop('SIGINT'))

  await app.listen({ host: config.host, port: config.port })
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
