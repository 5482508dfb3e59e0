import { sql } from 'kysely'
import type { JWK } from 'jose'
import type { Db } from './db.js'

/** A key of the shared table, and whether it signs yet (by Postgres' clock, the same for every node). */
export interface StoredSigningKey {
  jwk: JWK
  signing: boolean
}

/** Any constant that no other advisory lock of this schema uses; kysely's migrator takes its own. */
const FIRST_KEY_LOCK = 0x6b657973

/** The key that signs: the newest whose time has come (the oldest, should none have). */
export const signerOf = (keys: readonly StoredSigningKey[]): StoredSigningKey | undefined => keys.filter((key) => key.signing).at(-1) ?? keys[0]

/** Every shared key, oldest first. */
export async function readSigningKeys(db: Db): Promise<StoredSigningKey[]> {
  const rows = await db
    .selectFrom('signing_keys')
    .select(['private_jwk', sql<boolean>`signs_from <= now()`.as('signing')])
    .orderBy('signs_from')
    .orderBy('kid')
    .execute()
  return rows.map((row) => ({ jwk: row.private_jwk as JWK, signing: row.signing }))
}

/** Stores `make()`'s key, signing at once, when the table is empty. Nodes starting together agree on one key. */
export async function ensureSigningKey(db: Db, make: () => Promise<JWK>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${FIRST_KEY_LOCK})`.execute(trx)
    const any = await trx.selectFrom('signing_keys').select('kid').limit(1).executeTakeFirst()
    if (any) return
    const jwk = await make()
    await trx.insertInto('signing_keys').values({ kid: jwk.kid as string, private_jwk: JSON.stringify(jwk), signs_from: sql`now()` }).execute()
  })
}

/** Adds a key that starts signing `delaySeconds` from now, by Postgres' clock. */
export async function addSigningKey(db: Db, jwk: JWK, delaySeconds: number): Promise<void> {
  await db
    .insertInto('signing_keys')
    .values({ kid: jwk.kid as string, private_jwk: JSON.stringify(jwk), signs_from: sql`now() + make_interval(secs => ${delaySeconds})` })
    .execute()
}

/** Deletes the keys that a newer key replaced more than `seconds` ago; returns their kids. The signing key stays. */
export async function deleteKeysReplacedFor(db: Db, seconds: number): Promise<string[]> {
  const rows = await db
    .deleteFrom('signing_keys as old')
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('signing_keys as newer')
          .select('newer.kid')
          .whereRef('newer.signs_from', '>', 'old.signs_from')
          .where('newer.signs_from', '<=', sql<Date>`now() - make_interval(secs => ${seconds})`),
      ),
    )
    .returning('old.kid')
    .execute()
  return rows.map((row) => row.kid)
}
