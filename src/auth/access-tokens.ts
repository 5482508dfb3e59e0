import { type JWTPayload, SignJWT, jwtVerify } from 'jose'
import { SIGNING_ALGORITHMS, type SigningKeys } from './signing-keys.js'

export interface AccessTokenOptions {
  /** The keys of the moment: a shared key ring changes them while the node runs. */
  keys: () => SigningKeys
  issuer: string
  audience: string
  ttlSeconds: number
}

export interface AccessClaims {
  userId: number
  sessionId: number
}

const positiveId = (value: unknown): number | undefined => {
  const n = typeof value === 'string' && /^[1-9]\d{0,15}$/.test(value) ? Number(value) : value
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : undefined
}

/**
 * Short-lived access JWTs. Each names its session (sid), so that a token of a revoked session is
 * refused at once rather than when it expires. Verification pins the algorithms and requires exp,
 * iss and aud; a token that fails anything is simply not a credential.
 */
export function createAccessTokens(options: AccessTokenOptions) {
  return {
    ttlSeconds: options.ttlSeconds,

    sign(claims: AccessClaims): Promise<string> {
      const { signer } = options.keys()
      return new SignJWT({ sid: claims.sessionId })
        .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: 'at+jwt' })
        .setSubject(String(claims.userId))
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setIssuedAt()
        .setExpirationTime(`${options.ttlSeconds}s`)
        .sign(signer.key)
    },

    /** The claims of a valid token, or undefined. */
    async verify(token: string): Promise<AccessClaims | undefined> {
      let payload: JWTPayload
      try {
        ;({ payload } = await jwtVerify(token, options.keys().verifier, {
          algorithms: [...SIGNING_ALGORITHMS],
          issuer: options.issuer,
          audience: options.audience,
          requiredClaims: ['exp', 'sub'],
          typ: 'at+jwt',
        }))
      } catch {
        return undefined
      }
      const userId = positiveId(payload.sub)
      const sessionId = positiveId(payload.sid)
      return userId && sessionId ? { userId, sessionId } : undefined
    },
  }
}

export type AccessTokens = ReturnType<typeof createAccessTokens>
