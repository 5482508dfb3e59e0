import { randomUUID } from 'node:crypto'
import calculateSlot from 'cluster-key-slot'
import { type Command, Redis } from 'ioredis'
import t from 'tap'
import { createRateLimits } from '../src/auth/rate-limits.js'
import { RedisPresenceStore } from '../src/presence/redis-store.js'
import { isolatedEnvironment } from './helpers/isolation.js'

// A Redis Cluster refuses a command or a transaction whose keys lie in different slots. Every
// command that presence and the rate limits send, run here on one server, is recorded with its
// keys: each command's keys, and a MULTI's, must share a slot, whatever the key prefix.
const { redisUrl, redisPrefix } = await isolatedEnvironment(t, 'redis_key_slots')
const redis = new Redis(redisUrl)
t.teardown(() => redis.quit())

/** The keys of each command sent, those of a MULTI … EXEC together as one. */
const calls: string[][] = []
let transaction: string[] | undefined
const send = redis.sendCommand.bind(redis)
redis.sendCommand = (command: Command, ...rest) => {
  const keys = command.getKeys().map(String)
  if (command.name === 'multi') transaction = []
  else if (command.name === 'exec' && transaction) {
    calls.push(transaction)
    transaction = undefined
  } else if (transaction) transaction.push(...keys)
  else calls.push(keys)
  return send(command, ...rest)
}

const SETTINGS = { points: 5, seconds: 60 }

for (const prefix of [`${redisPrefix}${randomUUID()}:`, `${redisPrefix}{tenant}:`]) {
  t.test(`prefix ${prefix}`, async (t) => {
    calls.length = 0
    const presence = new RedisPresenceStore(redis, prefix)
    await presence.refresh('a', [1, 2], 60_000)
    await presence.refresh('b', [2], 1)
    await presence.release('a', [1])
    await presence.sweep()
    await presence.onlineAmong([1, 2])
    const limits = createRateLimits(redis, prefix, {
      loginFailuresPerAccount: SETTINGS,
      loginFailuresPerIp: SETTINGS,
      registrationsPerIp: SETTINGS,
      messagesPerUser: SETTINGS,
      invitesCreatedPerUser: SETTINGS,
      inviteUsesPerIp: SETTINGS,
    })
    for (const limit of Object.values(limits)) {
      await limit.consume('k')
      await limit.check('k')
      await limit.reset('k')
    }
    const multiKey = calls.filter((keys) => new Set(keys).size > 1)
    t.ok(multiKey.length >= 4, `${multiKey.length} of ${calls.length} calls have several keys (the presence scripts)`)
    t.ok(calls.some((keys) => keys.length === 2 && keys.every((key) => key.startsWith(prefix))), 'the rate limits transactions were recorded')
    const crossSlot = calls.filter((keys) => new Set(keys.map((key) => calculateSlot(key))).size > 1)
    t.same(crossSlot, [], "every call's keys share one slot")
  })
}
