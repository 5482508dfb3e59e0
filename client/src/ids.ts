/**
 * Ids for client frames: a send's id is its idempotency key, so it must be unique for the user and
 * conversation for as long as the server keeps keys. Random bits from Web Crypto, which browsers
 * give in any context and Node from version 19.
 */
export function newClientId(prefix: string): string {
  const bytes = new Uint8Array(12)
  globalThis.crypto.getRandomValues(bytes)
  return `${prefix}-${Date.now().toString(36)}-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`
}
