import { createHash, randomBytes } from 'node:crypto'

/**
 * Opaque bearer tokens (session cookies, refresh tokens, invite links): 256 random bits from
 * crypto.randomBytes, as 43 base64url characters. The database holds only their SHA-256 hash, so
 * that a leaked table holds no usable token.
 */
const TOKEN_BYTES = 32
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/

export const newToken = () => randomBytes(TOKEN_BYTES).toString('base64url')
export const hashToken = (token: string) => createHash('sha256').update(token).digest()
/** Whether a token could be one of ours at all: anything else names nothing, without a lookup. */
export const wellFormedToken = (token: string | undefined): token is string => token !== undefined && TOKEN_SHAPE.test(token)
