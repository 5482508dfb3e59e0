/**
 * npm run migrate (node dist/src/migrate.js in an image): creates the database when missing and
 * applies pending migrations, then exits. The migration job of a deployment whose nodes start with
 * MIGRATE_ON_START=false.
 */
import { loadConfig } from './config.js'
import { ConfigError } from './errors.js'
import { prepareDatabase } from './storage/migrate.js'

try {
  const applied = await prepareDatabase(loadConfig().databaseUrl)
  console.log(applied.length > 0 ? `applied ${applied.join(', ')}` : 'the database is up to date')
} catch (err) {
  console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : err)
  process.exit(err instanceof ConfigError ? 2 : 1)
}
