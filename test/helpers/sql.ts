import pg from 'pg'

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
