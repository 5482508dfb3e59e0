import type { FastifyBaseLogger } from 'fastify'
import type { JWK } from 'jose'
import { ConfigError } from '../errors.js'
import type { Db } from '../storage/db.js'
import { ensureSigningKey, readSigningKeys, signerOf } from '../storage/signing-keys.js'
import { type SigningKeys, generateSigningJwk, loadSigningKeys } from './signing-keys.js'

/** The node's signing keys of the moment. */
export interface KeyRing {
  current(): SigningKeys
  start(): void
  stop(): void
}

/** JWT_KEYS: the same keys for the node's whole life; rotating them is a rolling restart. */
export async function configuredKeyRing(jwks: readonly JWK[]): Promise<KeyRing> {
  let keys: SigningKeys
  try {
    keys = await loadSigningKeys(jwks)
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`JWT_KEYS (or JWT_KEYS_FILE): ${err.message}`)
    throw err
  }
  return { current: () => keys, start: () => {}, stop: () => {} }
}

/**
 * With no JWT_KEYS, the keys every node of the deployment shares through Postgres: the first node
 * to start makes one (under a lock, so nodes starting together agree), every node loads them, and
 * re-reads them every `refreshMs`, so that a key added by a rotation (deploy/keys.ts) is known to
 * every node before it starts signing, and a removed one stops verifying.
 */
export async function sharedKeyRing(options: { db: Db; refreshMs: number; log: FastifyBaseLogger }): Promise<KeyRing> {
  const { db, log } = options
  const load = async (): Promise<SigningKeys> => {
    const stored = await readSigningKeys(db)
    // A key added by a rotation verifies at once but signs only from its time on.
    return loadSigningKeys(
      stored.map((key) => key.jwk),
      signerOf(stored)?.jwk.kid,
    )
  }
  await ensureSigningKey(db, generateSigningJwk)
  let keys = await load()
  let timer: NodeJS.Timeout | undefined
  const refresh = async () => {
    try {
      const loaded = await load()
      if (loaded.signer.kid !== keys.signer.kid) log.info({ kid: loaded.signer.kid }, 'a new shared key signs access tokens')
      keys = loaded
    } catch (err) {
      log.warn({ reason: (err as Error).message }, 'the shared signing keys could not be read; the ones loaded before stay in use')
    }
  }
  return {
    current: () => keys,
    start() {
      timer = setInterval(() => void refresh(), options.refreshMs)
      timer.unref()
    },
    stop: () => clearInterval(timer),
  }
}
