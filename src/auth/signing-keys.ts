import { type CryptoKey, type JWK, type JWTVerifyGetKey, createLocalJWKSet, exportJWK, generateKeyPair, importJWK } from 'jose'
import { ConfigError } from '../errors.js'

/** The algorithms this service signs with, and so the only ones it accepts on its own tokens. */
export const SIGNING_ALGORITHMS = ['EdDSA', 'ES256'] as const
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number]

export interface SigningKeys {
  /** The newest key: the one that signs. */
  signer: { kid: string; alg: SigningAlgorithm; key: CryptoKey }
  /** Every configured key's public half, for GET /.well-known/jwks.json. */
  publicJwks: { keys: JWK[] }
  /** Finds the key that verifies a token among those. */
  verifier: JWTVerifyGetKey
}

function algorithmOf(jwk: JWK): SigningAlgorithm {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA'
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256'
  throw new ConfigError(`key ${jwk.kid}: only Ed25519 (EdDSA) and P-256 (ES256) keys are supported`)
}

const publicHalf = ({ d: _d, ...rest }: JWK): JWK => rest

/**
 * Loads private JWKs, oldest first, as configured in JWT_KEYS. The last one signs, unless another
 * is named; all of them verify, so a key that was replaced keeps its tokens valid until they expire.
 */
export async function loadSigningKeys(jwks: readonly JWK[], signerKid?: string): Promise<SigningKeys> {
  if (jwks.length === 0) throw new ConfigError('no signing key')
  const kids = new Set<string>()
  const published: JWK[] = []
  for (const jwk of jwks) {
    if (typeof jwk.kid !== 'string' || jwk.kid === '') throw new ConfigError('every key needs a "kid"')
    if (kids.has(jwk.kid)) throw new ConfigError(`two keys have the kid "${jwk.kid}"`)
    if (typeof jwk.d !== 'string') throw new ConfigError(`key ${jwk.kid} is not a private key`)
    kids.add(jwk.kid)
    published.push({ ...publicHalf(jwk), kid: jwk.kid, alg: algorithmOf(jwk), use: 'sig' })
  }
  const newest = (jwks.find((jwk) => jwk.kid === signerKid) ?? jwks[jwks.length - 1]) as JWK
  const alg = algorithmOf(newest)
  let key: CryptoKey
  try {
    key = (await importJWK(newest, alg)) as CryptoKey
  } catch (err) {
    throw new ConfigError(`key ${newest.kid} cannot be imported: ${(err as Error).message}`)
  }
  const publicJwks = { keys: published }
  return { signer: { kid: newest.kid as string, alg, key }, publicJwks, verifier: createLocalJWKSet(publicJwks) }
}

/** A new Ed25519 private JWK with a random kid: what `npm run keygen` prints. */
export async function generateSigningJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
  const jwk = await exportJWK(privateKey)
  return { ...jwk, kid: `k-${new Date().toISOString().slice(0, 10)}-${crypto.randomUUID().slice(0, 8)}`, alg: 'EdDSA' }
}
