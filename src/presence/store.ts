/**
 * Who is online: which (user, node instance) pairs have a socket, each until it expires. Nodes
 * refresh their pairs on a heartbeat, and every node sweeps expired pairs, so a node that dies
 * without a word (SIGKILL, a lost machine) leaves nobody online for longer than the time to live.
 *
 * Each changing call answers exactly the users whose state it changed (online to offline or back),
 * so that exactly one caller learns of each change, however many nodes race: that caller announces it.
 */
export interface PresenceStore {
  /**
   * Marks these users present on this node for `ttlMs`; answers those who were offline everywhere.
   * A pair that is already there (even expired, not yet swept) only has its expiry moved.
   */
  refresh(instance: string, userIds: readonly number[], ttlMs: number): Promise<number[]>
  /** These users have no socket left on this node; answers those who are now offline everywhere. */
  release(instance: string, userIds: readonly number[]): Promise<number[]>
  /** Drops pairs that expired (their node died); answers the users who are now offline everywhere. */
  sweep(): Promise<number[]>
  /** Which of these users are online. */
  onlineAmong(userIds: readonly number[]): Promise<Set<number>>
}
