import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import pg from 'pg'
import type { Test } from 'tap'
import { services } from './services.js'

/** A name no other test file uses, for a database and a Redis key prefix. */
export function uniqueName(label: string): string {
  return `test_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`
}

/** The URL of another database on the same server. */
export function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl)
  url.pathname = `/${database}`
  return url.toString()
}

async function adminQuery(serverUrl: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

/** Drops the database `name`, connecting through `serverUrl`, whatever connections it still has. */
export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`)
}

/** Drops an isolated environment: the database `name` (as dropDatabase) and every Redis key under the prefix `name:`. */
export async function dropIsolated(serverUrl: string, name: string, redisUrl: string): Promise<void> {
  await dropDatabase(serverUrl, name)
  const redis = new Redis(redisUrl)
  const keys = await redis.keys(`${name}:*`)
  if (keys.length > 0) await redis.del(...keys)
  await redis.quit()
}

/**
 * A database URL and a Redis prefix for one test file. The database is not created here: the node
 * creates and migrates it at start, as in production. Both are dropped when the test ends.
 */
export async function isolatedEnvironment(t: Test, label: string): Promise<{ databaseUrl: string; redisUrl: string; redisPrefix: string }> {
  const { postgresUrl, redisUrl } = await services()
  const name = uniqueName(label)
  const databaseUrl = withDatabase(postgresUrl, name)
  const redisPrefix = `${name}:`
  t.teardown(() => dropIsolated(postgresUrl, name, redisUrl))
  return { databaseUrl, redisUrl, redisPrefix }
}
