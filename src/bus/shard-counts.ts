import { type Logger, rateLimitedLog } from '../logger.js'
import type { RedisClient } from '../redis.js'

/** A count unannounced for this many refreshes belongs to no live node any more. */
const LIVE_REFRESHES = 3

export interface ShardPlan {
  /** The count events are published with: the smallest that a live node uses. */
  write: number
  /** The shards read: as many as the largest count a live node uses. */
  read: number
}

/**
 * The stream shard counts the live nodes are configured with, kept in one Redis hash (count → when a
 * node last announced it). Every node announces its own and reads the others' every `refreshMs`.
 *
 * A node publishes with the smallest live count and reads as many shards as the largest. So while a
 * rolling deploy changes STREAM_SHARDS, every node reads every shard that any node writes to: a node
 * that starts with a larger count writes as the older nodes do until their count is gone, and a node
 * that starts with a smaller count reads every shard the older nodes write to. No node writes past
 * its own count, and each reads at least as many shards as its own count.
 */
export class ShardCounts {
  private current: ShardPlan
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly own: number,
    private readonly refreshMs: number,
    private readonly log: Logger,
    /** Told the plan after each refresh that could read the counts, whether it changed or not. */
    private readonly onPlan: (plan: ShardPlan) => void,
  ) {
    this.current = { write: own, read: own }
  }

  get plan(): ShardPlan {
    return this.current
  }

  /** Announces this node's count and learns the others': the plan holds once this resolves. */
  async start(): Promise<void> {
    await this.refresh()
    const failed = rateLimitedLog(this.log, 'warn', 'announcing the stream shard count failed; retrying')
    this.timer = setInterval(() => this.refresh().catch((err: unknown) => failed({ err })), this.refreshMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /**
   * Announces, then reads. The plan changes only after a read that succeeded: while Redis cannot be
   * read, the counts last seen stay, rather than every other count seeming to expire.
   */
  private async refresh(): Promise<void> {
    await this.redis.hset(this.key, String(this.own), String(Date.now()))
    const announced = await this.redis.hgetall(this.key)
    const since = Date.now() - LIVE_REFRESHES * this.refreshMs
    const live = Object.entries(announced)
      .filter(([, at]) => Number(at) >= since)
      .map(([count]) => Number(count))
      .filter((count) => Number.isSafeInteger(count) && count >= 1)
    this.current = { write: Math.min(this.own, ...live), read: Math.max(this.own, ...live) }
    this.onPlan(this.current)
  }
}
