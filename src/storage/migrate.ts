import { promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { FileMigrationProvider, Migrator } from 'kysely'
import { type Db, createDb, ensureDatabase } from './db.js'

// src/storage → ../../migrations, and the same from dist/src/storage → dist/migrations.
const migrationFolder = fileURLToPath(new URL('../../migrations', import.meta.url))

const migratorOf = (db: Db) => new Migrator({ db, provider: new FileMigrationProvider({ fs, path, migrationFolder }) })

/** Applies every pending migration. Kysely holds an advisory lock, so nodes starting together do not race. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const { error, results } = await migratorOf(db).migrateToLatest()
  if (error) throw error
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}

/** The migrations this code has that the database has not had. */
export async function pendingMigrations(databaseUrl: string): Promise<string[]> {
  return withDb(databaseUrl, async (db) => (await migratorOf(db).getMigrations()).filter((m) => !m.executedAt).map((m) => m.name))
}

/** Creates the database when missing and applies pending migrations; several nodes may do this at once. */
export async function prepareDatabase(databaseUrl: string): Promise<string[]> {
  await ensureDatabase(databaseUrl)
  return withDb(databaseUrl, migrateToLatest)
}

async function withDb<T>(databaseUrl: string, use: (db: Db) => Promise<T>): Promise<T> {
  // An idle connection lost mid-migration makes the next statement fail, and that error is thrown.
  const db = createDb(databaseUrl, { onIdleError: () => {}, max: 1 })
  try {
    return await use(db)
  } finally {
    await db.destroy()
  }
}
