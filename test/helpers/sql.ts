import pg from 'pg'
import { until } from './waiting.js'

/** Runs one statement on a test's database over a connection of its own, and gives its rows. */
export async function queryRows<Row = Record<string, unknown>>(databaseUrl: string, text: string, values: unknown[] = []): Promise<Row[]> {
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  try {
    return (await db.query(text, values)).rows as Row[]
  } finally {
    await db.end()
  }
}

/**
 * Waits until another connection to `client`'s database waits for a lock, in a statement that
 * contains `statement` when given. `client` may be in a transaction (the one holding the lock, say):
 * there Postgres answers every read of pg_stat_activity from the snapshot the first read took, which
 * does not hold a connection opened since, so each look takes a new one.
 */
export async function untilSomeoneWaitsForALock(client: pg.Client, statement = ''): Promise<void> {
  await until(async () => {
    await client.query('SELECT pg_stat_clear_snapshot()')
    const waiting = await client.query(
      `SELECT 1 FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND strpos(query, $1) > 0`,
      [statement],
    )
    return (waiting.rowCount ?? 0) > 0
  }, statement ? `a statement with "${statement}" to wait for a lock` : 'a statement to wait for a lock', 60_000)
}
