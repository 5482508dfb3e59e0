import { Gauge, type Registry } from 'prom-client'

/**
 * What the gauges read when they are scraped: state the node's parts keep anyway, so that nothing
 * is counted for them on any path. Read only then, so they may reach parts made after the metrics.
 */
export interface GaugeSources {
  socketsOpen(): number
  subscriptions(): number
  channels(): number
  usersOnline(): number
  pool(): { inUse: number; idle: number; waiting: number }
  /** Asks the bus (Redis' XINFO STREAM): once per scrape, shared by the two lag gauges. */
  streamLag(): Promise<{ entries: number | undefined; seconds: number }>
}

/** Registers the gauges, each read from its source at scrape time. */
export function registerGauges(registry: Registry, sources: GaugeSources): void {
  const registers = [registry]
  const read = (name: string, help: string, value: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(value())
      },
    })
  read('chat_ws_sockets_open', 'WebSockets open on this node.', sources.socketsOpen)
  read('chat_ws_subscriptions', "Subscriptions of this node's sockets to conversations, live or reading their backfill.", sources.subscriptions)
  read('chat_hub_channels', 'Conversations with a subscriber on this node.', sources.channels)
  read('chat_users_online', 'Users with a socket on this node.', sources.usersOnline)
  new Gauge({
    name: 'chat_db_pool_connections',
    help: "Connections of this node's Postgres pool, by state (in_use, idle).",
    labelNames: ['state'],
    registers,
    collect() {
      const { inUse, idle } = sources.pool()
      this.set({ state: 'in_use' }, inUse)
      this.set({ state: 'idle' }, idle)
    },
  })
  read('chat_db_pool_waiting_requests', 'Requests waiting for a Postgres connection of the pool.', () => sources.pool().waiting)

  // Both gauges await the same XINFO; when Redis does not answer, they say NaN (unknown), never 0.
  let lag: ReturnType<GaugeSources['streamLag']> | undefined
  const currentLag = () => (lag ??= sources.streamLag().finally(() => (lag = undefined)))
  const lagGauge = (name: string, help: string, value: (found: Awaited<typeof lag>) => number | undefined) =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        this.set((await currentLag().then(value, () => undefined)) ?? Number.NaN)
      },
    })
  lagGauge('chat_stream_lag_entries', 'Stream entries added that this node has not read yet (Redis 7 and later).', (found) => found?.entries)
  lagGauge('chat_stream_lag_seconds', "Time between the stream's newest entry and the last one this node read.", (found) => found?.seconds)
}
