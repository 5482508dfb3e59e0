import { Cluster, Redis } from 'ioredis'

/** The one Redis connection a cluster node shares between its parts: one server, or a Redis Cluster. */
export type RedisClient = Redis | Cluster

/** A node of a Redis Cluster that a client starts from; it learns the others from it. */
export interface ClusterNodeAddress {
  host: string
  port: number
}

export interface RedisSettings {
  /** The server, or, with `clusterNodes`, only the user, password and scheme (rediss: for TLS) every node is reached with. */
  url: string
  /** A Redis Cluster's nodes to start from: when set, the client is a Cluster and the URL's host is not used. */
  clusterNodes: readonly ClusterNodeAddress[] | undefined
  /** A command with no answer in this long fails, and its silent connection is replaced. */
  commandTimeoutMs: number
}

/** Makes the client; it connects on `connect()`. */
export function createRedisClient({ url, clusterNodes, commandTimeoutMs }: RedisSettings): RedisClient {
  const connection = {
    // While Redis is down or silent, a command fails after this long instead of waiting for it (the
    // rate limits then count in memory, a failed publish is logged), and a connection that stays
    // silent that long is replaced.
    commandTimeout: commandTimeoutMs,
    socketTimeout: commandTimeoutMs,
    // Commands that wait for a reconnection are dropped after two failed attempts, not kept (they
    // failed already): memory stays bounded however long the outage.
    maxRetriesPerRequest: 1,
  }
  if (clusterNodes === undefined) return new Redis(url, { enableAutoPipelining: true, lazyConnect: true, ...connection })
  const { username, password, protocol } = new URL(url)
  return new Cluster([...clusterNodes], {
    enableAutoPipelining: true,
    lazyConnect: true,
    // A Cluster that has lost every node would queue commands, with no timeout, until it is back:
    // they fail at once instead. A node's commands still wait out the timeout above, across a
    // failover's redirections.
    enableOfflineQueue: false,
    redisOptions: {
      ...connection,
      username: decodeURIComponent(username) || undefined,
      password: decodeURIComponent(password) || undefined,
      tls: protocol === 'rediss:' ? {} : undefined,
    },
  })
}

/**
 * Resolves when Redis can serve every key: the server answers, or a Cluster's node says the cluster
 * is ok (every slot served; not while a dead master's replica is still to be promoted).
 */
export async function redisAnswers(client: RedisClient): Promise<void> {
  if (client instanceof Redis) {
    await client.ping()
    return
  }
  const info = await client.cluster('INFO')
  if (!/^cluster_state:ok\r?$/m.test(info)) throw new Error('the Redis Cluster is not ok')
}
