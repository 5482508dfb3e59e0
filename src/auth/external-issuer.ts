import { type JWTPayload, type JWTVerifyGetKey, createRemoteJWKSet, importSPKI, jwtVerify } from 'jose'
import { ConfigError } from '../errors.js'

/** The operator's trusted issuer: a host site whose users sign in here with the site's own JWTs. */
export interface ExternalIssuerConfig {
  issuer: string
  audience: string
  /** Exactly one of: where the issuer publishes its keys, its public key (PEM), or a shared HMAC secret. */
  key: { jwksUrl: string } | { publicKeyPem: string } | { secret: string }
  /**
   * Accepted algorithms: by default RS256, PS256, ES256 and EdDSA for a JWKS, RS256 for a public key
   * (which is imported for its first algorithm only), HS256 for a secret. Config never mixes HMAC
   * with public keys, so a token cannot pass as HMAC-signed with a public key.
   */
  algorithms?: string[]
  /** The claim that suggests a username for a new account. */
  usernameClaim: string
}

export interface ExternalIdentity {
  issuer: string
  subject: string
  /** From usernameClaim, when the token has one. */
  suggestedUsername: string | undefined
  /** From the standard `name` claim. */
  displayName: string | undefined
}

const ASYMMETRIC = ['RS256', 'PS256', 'ES256', 'EdDSA']
const JWKS_TIMEOUT_MS = 5000

const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value : undefined)

export async function createExternalIssuer(config: ExternalIssuerConfig) {
  const { key } = config
  let verifyKey: JWTVerifyGetKey | Uint8Array | CryptoKey
  let algorithms: string[]
  if ('jwksUrl' in key) {
    verifyKey = createRemoteJWKSet(new URL(key.jwksUrl), { timeoutDuration: JWKS_TIMEOUT_MS })
    algorithms = config.algorithms ?? ASYMMETRIC
  } else if ('publicKeyPem' in key) {
    // A public key is imported for one algorithm.
    algorithms = (config.algorithms ?? ['RS256']).slice(0, 1)
    verifyKey = await importSPKI(key.publicKeyPem, algorithms[0] as string).catch((err: Error) => {
      throw new ConfigError(`EXTERNAL_JWT_PUBLIC_KEY is not a ${algorithms[0]} public key in PEM: ${err.message}`)
    })
  } else {
    verifyKey = new TextEncoder().encode(key.secret)
    algorithms = config.algorithms ?? ['HS256']
  }

  return {
    /** The identity in a valid token of the trusted issuer, or undefined. */
    async verify(token: string): Promise<ExternalIdentity | undefined> {
      let payload: JWTPayload
      try {
        ;({ payload } = await jwtVerify(token, verifyKey as JWTVerifyGetKey, {
          algorithms,
          issuer: config.issuer,
          audience: config.audience,
          requiredClaims: ['exp', 'sub'],
        }))
      } catch {
        return undefined
      }
      const subject = text(payload.sub)
      if (!subject || subject.length > 255) return undefined
      return {
        issuer: config.issuer,
        subject,
        suggestedUsername: text(payload[config.usernameClaim]),
        displayName: text(payload.name),
      }
    },
  }
}

export type ExternalIssuer = Awaited<ReturnType<typeof createExternalIssuer>>
