import { parseExposition, total } from '../test/helpers/prometheus.js'

/** What the bus handed the nodes, summed over them, from their /metrics counters. */
export interface BusCounters {
  /** Events the bus handed to the nodes, wanted there or not (chat_bus_events_received_total). */
  received: number
  /** Those for conversations with a subscriber on the node (chat_bus_events_wanted_total). */
  wanted: number
  /** Events the nodes' channels relayed to their live subscribers (chat_events_relayed_total). */
  relayed: number
}

async function scrape(url: string, token: string): Promise<BusCounters> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } })
  if (!res.ok) throw new Error(`${url}/metrics answered ${res.status}`)
  const samples = parseExposition(await res.text())
  return {
    received: total(samples, 'chat_bus_events_received_total'),
    wanted: total(samples, 'chat_bus_events_wanted_total'),
    relayed: total(samples, 'chat_events_relayed_total'),
  }
}

/** The counters of every node (started with METRICS_TOKEN=token), summed. */
export async function scrapeBusCounters(urls: readonly string[], token: string): Promise<BusCounters> {
  const all = await Promise.all(urls.map((url) => scrape(url, token)))
  return all.reduce((sum, c) => ({ received: sum.received + c.received, wanted: sum.wanted + c.wanted, relayed: sum.relayed + c.relayed }))
}

/** after − before, counter by counter. */
export const busDelta = (before: BusCounters, after: BusCounters): BusCounters => ({
  received: after.received - before.received,
  wanted: after.wanted - before.wanted,
  relayed: after.relayed - before.relayed,
})
