/**
 * npm run keys -- rotate | list: the signing keys that nodes share through Postgres when JWT_KEYS is
 * not set (src/auth/key-ring.ts), in the database of DATABASE_URL.
 *
 * rotate adds a new key that every node loads within SIGNING_KEYS_REFRESH_MS and that starts signing
 * after twice that, so no node ever sees a token signed by a key it does not know yet. It also deletes
 * the keys that were replaced longer ago than an access token lives (ACCESS_TOKEN_TTL_SECONDS) plus
 * that interval: no token they signed is still valid.
 */
import { loadConfig } from '../src/config.js'
import { generateSigningJwk } from '../src/auth/signing-keys.js'
import { createDb } from '../src/storage/db.js'
import { addSigningKey, deleteKeysReplacedFor, readSigningKeys, signerOf } from '../src/storage/signing-keys.js'

const command = process.argv[2]
if (command !== 'rotate' && command !== 'list') {
  console.error('usage: npm run keys -- rotate | list')
  process.exit(2)
}
const config = loadConfig()
const db = createDb(config.databaseUrl, { onIdleError: () => {}, max: 1 })
try {
  if (command === 'rotate') {
    const refreshSeconds = Math.ceil(config.signingKeysRefreshMs / 1000)
    const jwk = await generateSigningJwk()
    await addSigningKey(db, jwk, 2 * refreshSeconds)
    console.log(`added ${jwk.kid}: every node knows it within ${refreshSeconds} s, and it signs from ${2 * refreshSeconds} s on`)
    const deleted = await deleteKeysReplacedFor(db, config.accessTokenTtlSeconds + refreshSeconds)
    if (deleted.length > 0) console.log(`deleted ${deleted.join(', ')}: replaced long enough ago that nothing they signed is valid`)
  }
  const keys = await readSigningKeys(db)
  const signer = signerOf(keys)
  for (const key of keys) console.log(`${key.jwk.kid}\t${key === signer ? 'signs' : key.signing ? 'verifies' : 'verifies, signs later'}`)
} finally {
  await db.destroy()
}
