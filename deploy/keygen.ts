/**
 * npm run keygen: prints a new Ed25519 signing key as a private JWK. To start signing with it, append
 * it to the array in JWT_KEYS (or JWT_KEYS_FILE) on every node; the last key signs, every key verifies.
 */
import { generateSigningJwk } from '../src/auth/signing-keys.js'

console.log(JSON.stringify(await generateSigningJwk()))
