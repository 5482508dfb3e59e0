import { promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { FileMigrationProvider, Migrator } from 'kysely'
import type { Db } from './db.js'

// src/storage → ../../migrations, and the same from dist/src/storage → dist/migrations.
const migrationFolder = fileURLToPath(new URL('../../migrations', import.meta.url))

/** Applies every pending migration. Kysely holds an advisory lock, so nodes starting together do not race. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new FileMigrationProvider({ fs, path, migrationFolder }) })
  const { error, results } = await migrator.migrateToLatest()
  if (error) throw error
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
