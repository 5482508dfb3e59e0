import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible'
import { RateLimited } from '../errors.js'
import type { RedisClient } from '../redis.js'

/** A limit of `points` per `seconds`, or off. */
export type LimitSetting = { points: number; seconds: number } | 'off'

export interface RateLimitSettings {
  loginFailuresPerAccount: LimitSetting
  loginFailuresPerIp: LimitSetting
  registrationsPerIp: LimitSetting
  messagesPerUser: LimitSetting
  invitesCreatedPerUser: LimitSetting
  inviteUsesPerIp: LimitSetting
}

export interface Limit {
  /** Counts one against `key`; throws RateLimited when that passes the limit. */
  consume(key: string | number): Promise<void>
  /** Throws RateLimited when `key` is already at the limit, without counting. */
  check(key: string | number): Promise<void>
  /** Forgets `key`'s count. */
  reset(key: string | number): Promise<void>
}

const OFF: Limit = { consume: async () => {}, check: async () => {}, reset: async () => {} }

/** Makes the counter of one limit, `name` telling its keys from the other limits'. */
type LimiterOf = (name: string, points: number, duration: number) => RateLimiterAbstract

/** The one refusal logic over whichever counter. */
function limit(limiterOf: LimiterOf, name: string, setting: LimitSetting): Limit {
  if (setting === 'off') return OFF
  const { points, seconds: duration } = setting
  const limiter = limiterOf(name, points, duration)
  const refused = (res: RateLimiterRes) => new RateLimited(Math.max(1, Math.ceil(res.msBeforeNext / 1000)))
  return {
    async consume(key) {
      try {
        await limiter.consume(key)
      } catch (err) {
        if (err instanceof RateLimiterRes) throw refused(err)
        throw err
      }
    },
    async check(key) {
      const res = await limiter.get(key)
      if (res && res.consumedPoints >= points) throw refused(res)
    },
    async reset(key) {
      await limiter.delete(key)
    },
  }
}

function limits(limiterOf: LimiterOf, settings: RateLimitSettings) {
  return {
    loginFailuresPerAccount: limit(limiterOf, 'login-account', settings.loginFailuresPerAccount),
    loginFailuresPerIp: limit(limiterOf, 'login-ip', settings.loginFailuresPerIp),
    registrationsPerIp: limit(limiterOf, 'register-ip', settings.registrationsPerIp),
    messagesPerUser: limit(limiterOf, 'messages', settings.messagesPerUser),
    invitesCreatedPerUser: limit(limiterOf, 'invites-created', settings.invitesCreatedPerUser),
    inviteUsesPerIp: limit(limiterOf, 'invite-uses-ip', settings.inviteUsesPerIp),
  }
}

const memoryLimiter: LimiterOf = (keyPrefix, points, duration) => new RateLimiterMemory({ keyPrefix, points, duration })

/**
 * The limits counted in Redis, so that they hold across every node. When Redis cannot answer, each
 * node goes on counting in its own memory (rate-limiter-flexible's insurance limiter), so that an
 * outage neither opens the limits nor refuses everybody.
 */
export function createRateLimits(redis: RedisClient, prefix: string, settings: RateLimitSettings) {
  return limits((name, points, duration) => {
    const keyPrefix = `${prefix}limit:${name}`
    return new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration, insuranceLimiter: memoryLimiter(keyPrefix, points, duration) })
  }, settings)
}

/** The limits counted in this process' memory, for a node that runs alone. */
export function createMemoryRateLimits(settings: RateLimitSettings) {
  return limits(memoryLimiter, settings)
}

export type RateLimits = ReturnType<typeof limits>
