import { promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { FileMigrationProvider, Migrator } from 'kysely'
import { type Db, createDb, ensureDatabase } from './db.js'

// src/storage → ../../migrations, and the same from dist/src/storage → dist/migrations.
const migrationFolder = fileURLToPath(new URL('../../migrations', import.meta.url))

/** Applies every pending migration. Kysely holds an advisory lock, so nodes starting together do not race. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new FileMigrationProvider({ fs, path, migrationFolder }) })
  const { error, results } = await migrator.migrateToLatest()
  if (error) throw error
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}

/** Creates the database when missing and applies pending migrations; several nodes may do this at once. */
export async function prepareDatabase(databaseUrl: string): Promise<string[]> {
  await ensureDatabase(databaseUrl)
  // An idle connection lost mid-migration makes the next statement fail, and that error is thrown.
  const db = createDb(databaseUrl, { onIdleError: () => {}, max: 1 })
  try {
    return await migrateToLatest(db)
  } finally {
    await db.destroy()
  }
}
