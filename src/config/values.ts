/** How one setting's text becomes a value, or a ConfigError that names the setting (src/config.ts reads them all). */
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import type { LimitSetting } from '../auth/rate-limits.js'
import { ConfigError } from '../errors.js'
import type { ClusterNodeAddress } from '../redis.js'

/**
 * Which peers' X-Forwarded-For a node believes: false (none), a hop count, or the proxies'
 * addresses and CIDRs; true believes every hop, so a client can pick its own address.
 */
export type TrustProxy = boolean | number | string[]

export type Env = Record<string, string | undefined>

export function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got "${raw}"`)
  const value = Number(raw)
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`)
  return value
}

export function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (raw === 'true' || raw === '1') return true
  if (raw === 'false' || raw === '0') return false
  throw new ConfigError(`${name} must be true or false, got "${raw}"`)
}

export function url(env: Env, name: string, fallback: string, protocols: string[]): string {
  const raw = env[name] || fallback
  let parsed: URL
  try {
    parsed = new URL(raw)
  } catch {
    throw new ConfigError(`${name} is not a valid URL`)
  }
  if (!protocols.includes(parsed.protocol)) throw new ConfigError(`${name} must use ${protocols.join(' or ')}`)
  return raw
}

export function origins(env: Env, name: string): string[] {
  const raw = env[name] ?? ''
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      try {
        return new URL(s).origin
      } catch {
        throw new ConfigError(`${name} holds "${s}", which is not an origin such as https://chat.example.com`)
      }
    })
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = env[name] || fallback
  if (!(allowed as readonly string[]).includes(raw)) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}; got "${raw}"`)
  return raw as T
}

const HOST_NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/i

/** An address or a host name to listen on. */
export function host(env: Env): string {
  const raw = env.HOST || '127.0.0.1'
  if (isIP(raw) === 0 && !HOST_NAME.test(raw))
    throw new ConfigError(`HOST must be an address such as 0.0.0.0 or ::, or a host name; got "${raw}"`)
  return raw
}

/** host:port, the host an IPv4 address, a host name or an IPv6 address in brackets ([::1]:7000). */
function hostAndPort(entry: string): ClusterNodeAddress | undefined {
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/i.exec(entry)
  const host = match?.[1] ?? match?.[2] ?? ''
  const port = Number(match?.[3])
  const valid = match?.[1] === undefined ? isIP(host) === 4 || HOST_NAME.test(host) : isIP(host) === 6
  return valid && port >= 1 && port <= 65535 ? { host, port } : undefined
}

/** A comma-separated list of host:port, or undefined when unset. */
export function hostPorts(env: Env, name: string): ClusterNodeAddress[] | undefined {
  const raw = env[name]
  if (!raw) return undefined
  return raw.split(',').map((entry) => {
    const found = hostAndPort(entry.trim())
    if (!found) throw new ConfigError(`${name} must be a comma-separated list of host:port such as 10.0.0.1:6379,10.0.0.2:6379; "${entry.trim()}" is not`)
    return found
  })
}

/** proxy-addr's names for address ranges, accepted beside addresses and CIDRs. */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal'])

export function isAddressOrCidr(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true
  const [address = '', bits, ...rest] = entry.split('/')
  const family = isIP(address)
  if (family === 0 || rest.length > 0) return false
  if (bits === undefined) return true
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)
}

/** TRUST_PROXY: false, a hop count (what HAProxy in front of the nodes needs: 1), a list of addresses or CIDRs, or true. */
export function trustProxy(env: Env): TrustProxy {
  const raw = (env.TRUST_PROXY ?? '').trim()
  if (raw === '' || raw === 'false') return false
  if (raw === 'true') return true
  if (/^\d+$/.test(raw)) return integer(env, 'TRUST_PROXY', 0, 0, 10)
  const entries = raw.split(',').map((entry) => entry.trim())
  const bad = entries.find((entry) => !isAddressOrCidr(entry))
  if (bad !== undefined)
    throw new ConfigError(
      `TRUST_PROXY must be false, a hop count (0 to 10), or a comma-separated list of addresses and CIDRs such as 10.0.0.0/8; "${bad}" is neither`,
    )
  return entries
}

/** "points/seconds" (at most `points` in any `seconds`), or "off". */
export function limit(env: Env, name: string, fallback: string): LimitSetting {
  const raw = env[name] || fallback
  if (raw === 'off') return 'off'
  const match = /^(\d+)\/(\d+)$/.exec(raw)
  const points = Number(match?.[1])
  const seconds = Number(match?.[2])
  if (!match || points < 1 || seconds < 1 || points > 1e9 || seconds > 1e7)
    throw new ConfigError(`${name} must be "points/seconds" such as 10/60, or "off"; got "${raw}"`)
  return { points, seconds }
}

export function json(raw: string, name: string): unknown {
  try {
    return JSON.parse(raw)
  } catch {
    throw new ConfigError(`${name} is not valid JSON`)
  }
}

export function readSettingFile(name: string, path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`${name}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
}
