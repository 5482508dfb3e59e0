import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { type Limit, type RateLimitSettings, type RateLimits, createMemoryRateLimits, createRateLimits } from '../src/auth/rate-limits.js'
import { RateLimited } from '../src/errors.js'
import { isolatedEnvironment } from './helpers/isolation.js'
import { ownRedisCluster } from './helpers/redis-cluster-client.js'

// The same assertions against the limits counted in Redis (a server, and a Redis Cluster of the
// test's own) and those counted in memory.
const { redisUrl, redisPrefix } = await isolatedEnvironment(t, 'rate_limits_contract')
const redis = new Redis(redisUrl)
t.teardown(() => redis.quit())
const cluster = await ownRedisCluster(t)

const SETTINGS: RateLimitSettings = {
  loginFailuresPerAccount: { points: 3, seconds: 60 },
  loginFailuresPerIp: 'off',
  registrationsPerIp: { points: 3, seconds: 60 },
  messagesPerUser: { points: 3, seconds: 60 },
  invitesCreatedPerUser: { points: 3, seconds: 60 },
  inviteUsesPerIp: { points: 3, seconds: 60 },
}

/** Each answers new limits, counting from nothing. */
const implementations: { name: string; limits: () => RateLimits }[] = [
  { name: 'Redis', limits: () => createRateLimits(redis, `${redisPrefix}${randomUUID()}:`, SETTINGS) },
  { name: 'Redis Cluster', limits: () => createRateLimits(cluster.client, `${randomUUID()}:`, SETTINGS) },
  { name: 'memory', limits: () => createMemoryRateLimits(SETTINGS) },
]

/** Asserts that `attempt` is refused with a Retry-After within the limit's 60 s. */
async function refused(t: Test, attempt: Promise<void>, what: string) {
  const err: unknown = await attempt.catch((err: unknown) => err)
  t.type(err, RateLimited, what)
  const { retryAfterSeconds } = err as RateLimited
  t.ok(retryAfterSeconds >= 1 && retryAfterSeconds <= 60, `retry after ${retryAfterSeconds} s`)
}

async function consumeTimes(limit: Limit, key: string | number, times: number) {
  for (let i = 0; i < times; i++) await limit.consume(key)
}

for (const impl of implementations) {
  t.test(impl.name, async (t) => {
    t.test('consume counts up to the limit, then refuses', async (t) => {
      const { messagesPerUser } = impl.limits()
      await consumeTimes(messagesPerUser, 7, 3)
      t.pass('three within the limit')
      await refused(t, messagesPerUser.consume(7), 'the fourth')
      await refused(t, messagesPerUser.check(7), 'a check past the limit')
      await messagesPerUser.consume(8)
      t.pass('another key is not affected')
    })

    t.test('the limits are counted apart', async (t) => {
      const limits = impl.limits()
      await consumeTimes(limits.loginFailuresPerAccount, 'alice', 3)
      await limits.registrationsPerIp.consume('alice')
      t.pass('the same key under another limit has its own count')
    })

    t.test('check does not count', async (t) => {
      const { loginFailuresPerAccount } = impl.limits()
      for (let i = 0; i < 5; i++) await loginFailuresPerAccount.check('bob')
      await consumeTimes(loginFailuresPerAccount, 'bob', 2)
      await loginFailuresPerAccount.check('bob')
      t.pass('five checks and two failures pass')
      await loginFailuresPerAccount.consume('bob')
      await refused(t, loginFailuresPerAccount.check('bob'), 'a check at the limit')
    })

    t.test('reset forgets the count', async (t) => {
      const { registrationsPerIp } = impl.limits()
      await consumeTimes(registrationsPerIp, '192.0.2.1', 3)
      await refused(t, registrationsPerIp.check('192.0.2.1'), 'at the limit')
      await registrationsPerIp.reset('192.0.2.1')
      await consumeTimes(registrationsPerIp, '192.0.2.1', 3)
      t.pass('three more after the reset')
      await registrationsPerIp.reset('192.0.2.2')
      t.pass('resetting a key never counted is harmless')
    })

    t.test("a limit that is 'off' never refuses", async (t) => {
      const { loginFailuresPerIp } = impl.limits()
      await consumeTimes(loginFailuresPerIp, '192.0.2.9', 100)
      await loginFailuresPerIp.check('192.0.2.9')
      await loginFailuresPerIp.reset('192.0.2.9')
      t.pass('a hundred and a check')
    })
  })
}
