import type { RedisClient } from '../redis.js'
import type { PresenceStore } from './store.js'

/**
 * Presence shared by every node in Redis. Each (user, node) pair that has a socket is a member
 * `userId:nodeInstance` of a sorted set scored by when it expires; a hash counts each user's pairs.
 *
 * Each script moves the set and the count together, atomically, so that the users it answers are
 * exactly those whose state it changed, however many nodes race. Both keys share a hash tag, so a
 * Redis Cluster keeps them on one shard.
 */

/** Redis' own clock in ms, so that nodes' clocks need not agree. */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`

/** KEYS: expiry set, counts. ARGV: time to live (ms), node instance, user ids... Answers the users who came online. */
const REFRESH = `${NOW}
local expires = now + tonumber(ARGV[1])
local online = {}
for i = 3, #ARGV do
  if redis.call('ZADD', KEYS[1], expires, ARGV[i] .. ':' .. ARGV[2]) == 1 then
    if redis.call('HINCRBY', KEYS[2], ARGV[i], 1) == 1 then table.insert(online, ARGV[i]) end
  end
end
return online`

/** Takes one user:node pair out; answers true when it was the user's last. */
const RELEASE_PAIR = `
local function release(member)
  if redis.call('ZREM', KEYS[1], member) == 0 then return false end
  local user = string.match(member, '^(%d+):')
  if redis.call('HINCRBY', KEYS[2], user, -1) <= 0 then
    redis.call('HDEL', KEYS[2], user)
    return true
  end
  return false
end`

/** ARGV: node instance, user ids... Answers the users who went offline. */
const RELEASE = `${RELEASE_PAIR}
local offline = {}
for i = 2, #ARGV do
  if release(ARGV[i] .. ':' .. ARGV[1]) then table.insert(offline, ARGV[i]) end
end
return offline`

/** ARGV: most pairs to sweep. Answers the users who went offline. */
const SWEEP = `${RELEASE_PAIR}
${NOW}
local offline = {}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, ARGV[1])) do
  if release(member) then table.insert(offline, string.match(member, '^(%d+):')) end
end
return offline`

/** Users per script call, so that no call holds Redis for long. */
const CHUNK = 1000

export class RedisPresenceStore implements PresenceStore {
  private readonly keys: [expiry: string, counts: string]

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = [`${prefix}{presence}:expiry`, `${prefix}{presence}:count`]
  }

  /** Redis caches a script it was sent by its hash, so sending the source each time costs little more than EVALSHA. */
  private async run(script: string, args: (string | number)[]): Promise<number[]> {
    const changed = (await this.redis.eval(script, 2, ...this.keys, ...args)) as string[]
    return changed.map(Number)
  }

  async refresh(instance: string, userIds: readonly number[], ttlMs: number): Promise<number[]> {
    return this.chunked(userIds, (chunk) => this.run(REFRESH, [ttlMs, instance, ...chunk]))
  }

  async release(instance: string, userIds: readonly number[]): Promise<number[]> {
    return this.chunked(userIds, (chunk) => this.run(RELEASE, [instance, ...chunk]))
  }

  /** The oldest expired pairs, CHUNK at most: the next heartbeat takes the rest. */
  async sweep(): Promise<number[]> {
    return this.run(SWEEP, [CHUNK])
  }

  /** Which of these users are online. One command. */
  async onlineAmong(userIds: readonly number[]): Promise<Set<number>> {
    if (userIds.length === 0) return new Set()
    const counts = await this.redis.hmget(this.keys[1], ...userIds.map(String))
    return new Set(userIds.filter((_, i) => Number(counts[i] ?? 0) > 0))
  }

  private async chunked(userIds: readonly number[], run: (chunk: readonly number[]) => Promise<number[]>): Promise<number[]> {
    const changed: number[] = []
    for (let i = 0; i < userIds.length; i += CHUNK) changed.push(...(await run(userIds.slice(i, i + CHUNK))))
    return changed
  }
}
