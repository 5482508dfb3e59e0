import type { Redis } from 'ioredis'
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible'
import { RateLimited } from '../errors.js'

/** A limit of `points` per `seconds`, or off. */
export type LimitSetting = { points: number; seconds: number } | 'off'

export interface RateLimitSettings {
  loginFailuresPerAccount: LimitSetting
  loginFailuresPerIp: LimitSetting
  registrationsPerIp: LimitSetting
  messagesPerUser: LimitSetting
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

/**
 * One limit, counted in Redis so that it holds across every node. When Redis cannot answer, each
 * node goes on counting in its own memory (rate-limiter-flexible's insurance limiter), so that an
 * outage neither opens the limits nor refuses everybody.
 */
function redisLimit(redis: Redis, keyPrefix: string, setting: LimitSetting): Limit {
  if (setting === 'off') return OFF
  const { points, seconds: duration } = setting
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix,
    points,
    duration,
    insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration }),
  })
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

export function createRateLimits(redis: Redis, prefix: string, settings: RateLimitSettings) {
  return {
    loginFailuresPerAccount: redisLimit(redis, `${prefix}limit:login-account`, settings.loginFailuresPerAccount),
    loginFailuresPerIp: redisLimit(redis, `${prefix}limit:login-ip`, settings.loginFailuresPerIp),
    registrationsPerIp: redisLimit(redis, `${prefix}limit:register-ip`, settings.registrationsPerIp),
    messagesPerUser: redisLimit(redis, `${prefix}limit:messages`, settings.messagesPerUser),
  }
}

export type RateLimits = ReturnType<typeof createRateLimits>
