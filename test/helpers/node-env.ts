import type { JWK } from 'jose'
import { generateSigningJwk } from '../../src/auth/signing-keys.js'

let key: Promise<JWK> | undefined

/** The private signing key every test node of this process is configured with. */
export function testSigningJwk(): Promise<JWK> {
  key ??= generateSigningJwk()
  return key
}

/**
 * Settings every test node gets unless a test overrides them: one signing key shared by every node
 * of the test process (as a deployment shares JWT_KEYS), a low bcrypt cost, rate limits off,
 * since tests register and post from one loopback address far faster than people do, and no drain
 * on shutdown, since no balancer needs to notice a test node stopping. The tests of the limits and
 * of the shutdown set them.
 */
export async function testNodeEnv(): Promise<Record<string, string>> {
  return {
    JWT_KEYS: JSON.stringify([await testSigningJwk()]),
    BCRYPT_COST: '10',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_LOGIN_ACCOUNT: 'off',
    RATE_LIMIT_LOGIN_IP: 'off',
    RATE_LIMIT_REGISTER_IP: 'off',
    RATE_LIMIT_MESSAGES: 'off',
    RATE_LIMIT_INVITES_CREATE: 'off',
    RATE_LIMIT_INVITES_USE: 'off',
    SHUTDOWN_DRAIN_MS: '0',
    SHUTDOWN_CLOSE_WINDOW_MS: '0',
  }
}
