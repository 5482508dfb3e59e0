import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient, type Transaction } from 'kysely'
import pg from 'pg'
import { DatabaseUnavailable } from '../errors.js'
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

/** SQLSTATEs that mean Postgres cannot serve now: shutting down or starting (57P0x), out of connections, a statement or an idle transaction past its timeout. Class 08 (connection exceptions) too. */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '57014', '25P03'])
const NETWORK_FAILURES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'])
/** What pg says when no answer came: a client-side query or connect timeout, a pool wait timeout, a lost connection. */
const NO_ANSWER = /^(Query read timeout|timeout exceeded when trying to connect|timeout expired|Connection terminated)|not queryable/

/** Why Postgres could not serve: a wait for a connection ran out, a statement ran out, or it could not be reached at all. */
export type UnavailableReason = 'connect_timeout' | 'query_timeout' | 'unreachable'

const CONNECT_TIMEOUT = /^timeout exceeded when trying to connect|connection timeout/
const QUERY_TIMEOUT_STATES = new Set(['57014', '25P03'])

function unavailableReason(err: unknown): UnavailableReason {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown }
  if (typeof message === 'string' && CONNECT_TIMEOUT.test(message)) return 'connect_timeout'
  if ((typeof code === 'string' && QUERY_TIMEOUT_STATES.has(code)) || (typeof message === 'string' && message.startsWith('Query read timeout')))
    return 'query_timeout'
  return 'unreachable'
}

/** The one definition of "Postgres cannot be reached now", whatever part of the way failed. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown }
  if (typeof code === 'string' && (code.startsWith('08') || UNAVAILABLE_STATES.has(code) || NETWORK_FAILURES.has(code))) return true
  return typeof message === 'string' && NO_ANSWER.test(message)
}

/** How long the node waits for Postgres, and whom it tells when Postgres cannot be reached. */
export interface DbBounds {
  /** The longest wait for a connection: to open one, or for one of the pool's to be free. */
  connectTimeoutMs: number
  /** The longest a statement runs (Postgres cancels it), and a transaction may sit idle (Postgres ends it). */
  queryTimeoutMs: number
  onUnavailable: (err: unknown, reason: UnavailableReason) => void
}

/** Past the statement timeout, how long the node still waits for Postgres' own cancellation before it gives up on the connection. */
const NO_ANSWER_GRACE_MS = 500

export interface DbOptions {
  /** Told when an idle connection fails (Postgres restarted, or an admin ended it); it is replaced on next use. */
  onIdleError: (err: Error) => void
  /** Most connections at once. */
  max?: number
  /**
   * Bounds every wait for Postgres, and turns failures that mean it cannot be reached into
   * DatabaseUnavailable. Migrations run without: a long one is legitimate.
   */
  bounds?: DbBounds
}

/**
 * How long a node that is starting (creating its database, migrating) waits for a connection. Past
 * it the node exits with an error, and its supervisor starts it again, rather than hang unseen.
 */
const START_CONNECT_TIMEOUT_MS = 10_000

/** A pool's connections now: handed out, idle, and requests waiting for one. */
export interface PoolStats {
  inUse: number
  idle: number
  waiting: number
}

const pools = new WeakMap<Db, pg.Pool>()

/** The pool behind a Db made by createDb, read when metrics are scraped. */
export function poolStats(db: Db): PoolStats {
  const pool = pools.get(db)
  if (!pool) throw new Error('poolStats: this Db was not made by createDb')
  return { inUse: pool.totalCount - pool.idleCount, idle: pool.idleCount, waiting: pool.waitingCount }
}

/** A pool of connections to Postgres (10 by default). */
export function createDb(databaseUrl: string, { onIdleError, max = 10, bounds }: DbOptions): Db {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max,
    types,
    connectionTimeoutMillis: START_CONNECT_TIMEOUT_MS,
    ...(bounds && {
      connectionTimeoutMillis: bounds.connectTimeoutMs,
      statement_timeout: bounds.queryTimeoutMs,
      idle_in_transaction_session_timeout: bounds.queryTimeoutMs,
      // Client side: the only bound that holds when Postgres does not answer at all.
      query_timeout: bounds.queryTimeoutMs + NO_ANSWER_GRACE_MS,
      keepAlive: true,
    }),
  })
  // Left unhandled, an idle connection's failure would crash the process.
  pool.on('error', onIdleError)
  // A connection that fails while checked out also emits 'error', and the pool listens only while it
  // is idle. The query running on it is rejected with the same error, which is what matters here;
  // this keeps the event from crashing the process.
  pool.on('connect', (client) => client.on('error', () => {}))
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: bounds ? guarded(pool, bounds.onUnavailable) : pool }) })
  pools.set(db, pool)
  return db
}

/**
 * The pool as Kysely sees it, with two guards. A connection whose query failed without an answer
 * from Postgres (a client-side timeout, a reset) may still have that query on the wire: pg would
 * hand it out again with the next query queued behind it, or, in a transaction, with the
 * transaction still open when the answer comes. So it is destroyed at once, and the rollback Kysely
 * then tries on it fails at once, with the same error. And failures that mean Postgres cannot be
 * reached become DatabaseUnavailable.
 */
function guarded(pool: pg.Pool, onUnavailable: DbBounds['onUnavailable']): PostgresPool {
  const translated = (err: unknown) => {
    if (!isDatabaseUnavailable(err)) return err
    onUnavailable(err, unavailableReason(err))
    return new DatabaseUnavailable()
  }
  return {
    async connect(): Promise<PostgresPoolClient> {
      let client: pg.PoolClient
      try {
        client = await pool.connect()
      } catch (err) {
        throw translated(err)
      }
      let released = false
      const release = (err?: Error) => {
        if (released) return
        released = true
        client.release(err)
      }
      /** Why the connection was dropped: what any later query on it (Kysely's rollback) fails with. */
      let broken: unknown
      const query = async (sql: string, parameters: readonly unknown[]) => {
        if (broken !== undefined) throw broken
        try {
          return await client.query(sql, parameters as unknown[])
        } catch (err) {
          const failure = translated(err)
          // An error Postgres answered with leaves the connection in a known state; any other does not.
          if (!(err instanceof pg.DatabaseError)) {
            broken = failure
            release(err as Error)
          }
          throw failure
        }
      }
      // Kysely asks for the cursor form of query() only when its dialect has a cursor, and this one has none.
      return { query: query as unknown as PostgresPoolClient['query'], release: () => release() }
    },
    end: () => pool.end(),
  }
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
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: START_CONNECT_TIMEOUT_MS })
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
