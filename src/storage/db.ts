import { Kysely, PostgresDialect, type Transaction } from 'kysely'
import pg from 'pg'
import type { Database } from './schema.js'

const INT8_OID = 20
// Ids and seqs are bigint in Postgres; they stay far below 2^53, so read them as numbers.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
}

export type Db = Kysely<Database>
export type Trx = Transaction<Database>

/** Postgres refused a row for a unique index (23505). */
export const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === '23505'

/**
 * A pool of up to `max` connections. An idle connection that fails (Postgres restarted, or an admin
 * ended it) is reported to `onIdleError` and replaced on next use; left unhandled, it would crash the process.
 */
export function createDb(databaseUrl: string, onIdleError: (err: Error) => void, max = 10): Db {
  const pool = new pg.Pool({ connectionString: databaseUrl, max, types })
  pool.on('error', onIdleError)
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
}

/**
 * Creates the database named in the URL when it is missing, so that a node started with no
 * configuration works against a bare local Postgres. Safe when several nodes start at once.
 */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const target = new URL(databaseUrl)
  const name = decodeURIComponent(target.pathname.slice(1))
  if (name === '') return
  const admin = new URL(databaseUrl)
  admin.pathname = '/postgres'
  const client = new pg.Client({ connectionString: admin.toString() })
  await client.connect()
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])
    if (found.rowCount) return
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`)
  } catch (err) {
    // 42P04 duplicate_database, or 23505 when two nodes race on the catalog's unique index.
    const code = (err as { code?: string }).code
    if (code !== '42P04' && code !== '23505') throw err
  } finally {
    await client.end()
  }
}
