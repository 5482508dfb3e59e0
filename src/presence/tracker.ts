import { randomUUID } from 'node:crypto'
import type { PresenceStore } from './store.js'
import type { Logger } from '../logger.js'

export interface PresenceOptions {
  store: PresenceStore
  /** How long a node's word that a user is here lasts; the node renews it every third of this. */
  ttlMs: number
  /** How long a user whose last socket here closed still counts as here: a device that reconnects at once does not flap. */
  graceMs: number
  /** Tells whoever should know that a user came online or went offline; called once per change, cluster-wide. */
  announce: (userId: number, online: boolean) => Promise<void>
  log: Logger
}

/**
 * This node's part of presence. Only a user's first socket and last socket on the node reach the store,
 * and the heartbeat renews each user once whatever their number of devices, so the cost is per
 * user and node, not per device. A user whose last socket closed is let go after a grace period,
 * unless a socket of theirs opens here meanwhile (a reconnect storm then costs nothing).
 */
export class PresenceTracker {
  private readonly devices = new Map<number, number>()
  /** Users with no socket here any more, each with the timer that lets them go. */
  private readonly leaving = new Map<number, NodeJS.Timeout>()
  /** Unique per process, so that a restarted node never takes over a dead one's entries. */
  private readonly instance = randomUUID()
  private timer: NodeJS.Timeout | undefined
  private readonly inFlight = new Set<Promise<void>>()

  constructor(private readonly options: PresenceOptions) {}

  /** Users with a socket on this node. */
  get usersHere(): number {
    return this.devices.size
  }

  connected(userId: number): void {
    const count = (this.devices.get(userId) ?? 0) + 1
    this.devices.set(userId, count)
    if (count > 1) return
    const leaving = this.leaving.get(userId)
    if (leaving === undefined) return this.track(this.options.store.refresh(this.instance, [userId], this.options.ttlMs), true)
    clearTimeout(leaving)
    this.leaving.delete(userId)
  }

  disconnected(userId: number): void {
    const count = (this.devices.get(userId) ?? 0) - 1
    if (count > 0) return void this.devices.set(userId, count)
    this.devices.delete(userId)
    this.leaving.set(userId, setTimeout(() => this.letGo(userId), this.options.graceMs).unref())
  }

  private letGo(userId: number): void {
    clearTimeout(this.leaving.get(userId))
    this.leaving.delete(userId)
    this.track(this.options.store.release(this.instance, [userId]), false)
  }

  start(): void {
    this.timer = setInterval(() => this.beat(), Math.max(100, this.options.ttlMs / 3))
    this.timer.unref()
  }

  /** Stops the heartbeat, lets go at once of users in their grace period, and waits for changes under way (sockets close before this is called). */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    for (const userId of [...this.leaving.keys()]) this.letGo(userId)
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
  }

  /** Renews this node's users, and takes out those of nodes that stopped renewing theirs. */
  private beat(): void {
    const { store, ttlMs } = this.options
    const here = [...this.devices.keys(), ...this.leaving.keys()]
    if (here.length > 0) this.track(store.refresh(this.instance, here, ttlMs), true)
    this.track(store.sweep(), false)
  }

  private track(change: Promise<number[]>, online: boolean): void {
    const done = change
      .then((changed) => Promise.all(changed.map((userId) => this.options.announce(userId, online))))
      .then(
        () => undefined,
        (err: unknown) => this.options.log.warn({ err }, 'updating presence failed; the next heartbeat retries'),
      )
      .finally(() => this.inFlight.delete(done))
    this.inFlight.add(done)
  }
}
