/**
 * The load bench/dashboard.ts puts on its nodes, so that every panel has something to show: devices
 * in rooms that post at a rate that rises and falls, devices that reconnect and resume, a user over
 * the message limit (429), a device that stops reading (4008), unknown paths (404), and now and then
 * an event committed without its stream entry, as a writer that died between COMMIT and XADD leaves
 * (a gap filled from Postgres).
 */
import pg from 'pg'
import WebSocket from 'ws'
import { commitUnpublished } from '../test/helpers/unpublished.js'
import { type BenchUser, createConversations, registerUsers } from './fixtures.js'

/** Posts per second at `t` seconds into the run. */
const rateAt = (t: number) => (t < 20 ? 30 : t < 50 ? 120 : 50)
const ROOMS = 8
const USERS = 40
/** Users posting large posts into the room of the device that stopped reading, each within the message limit. */
const FLOODERS = 4
/** A 4000-character post, many of which fill a socket that stopped reading. */
const FLOOD_TEXT = 'x'.repeat(4000)

/** One device: a socket subscribed to its rooms, which resumes from the last seq it saw whenever it reconnects. */
class Device {
  private ws: WebSocket | undefined
  private readonly lastSeq = new Map<number, number>()

  constructor(
    private readonly url: string,
    readonly user: BenchUser,
    readonly rooms: number[],
  ) {}

  connect(): WebSocket {
    const ws = new WebSocket(`${this.url.replace(/^http/, 'ws')}/ws`, { headers: { cookie: this.user.cookie }, perMessageDeflate: false })
    ws.on('error', () => {})
    ws.on('open', () => {
      for (const conversationId of this.rooms)
        ws.send(JSON.stringify({ type: 'subscribe', id: `s${conversationId}`, conversationId, afterSeq: this.lastSeq.get(conversationId) }))
    })
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data))
      if (frame.type === 'events') for (const e of frame.events) this.lastSeq.set(e.conversationId, e.seq)
    })
    this.ws = ws
    return ws
  }

  reconnect(): void {
    this.ws?.close(1000)
    this.connect()
  }

  close(): void {
    this.ws?.terminate()
  }
}

function post(url: string, user: BenchUser, conversationId: number, text: string): Promise<unknown> {
  return fetch(`${url}/api/conversations/${conversationId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: user.cookie },
    body: JSON.stringify({ text }),
  }).then((res) => res.arrayBuffer(), () => undefined)
}

const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)] as T

/** Starts the load on the nodes at `urls` (sharing `databaseUrl`); stop() ends it and closes every socket. */
export async function startLoad(urls: string[], databaseUrl: string): Promise<{ stop(): Promise<void> }> {
  const users = await registerUsers(urls, USERS + 2 + FLOODERS, `d${Date.now().toString(36)}`)
  const [spammer, watcher, ...flooders] = users.splice(USERS) as [BenchUser, BenchUser, ...BenchUser[]]
  const rooms = await createConversations(urls, spammer, ROOMS + 1, 'room')
  const flood = rooms.pop() as number
  const devices = users.map((user, i) => new Device(urls[i % urls.length] as string, user, [rooms[i % ROOMS] as number, rooms[(i + 3) % ROOMS] as number]))
  devices.forEach((d) => d.connect())
  // A device that stops reading: the node closes it with 4008 once its unsent frames pass the bound.
  const slow = new Device(urls[0] as string, watcher, [flood])
  const slowSocket = slow.connect() as WebSocket & { _socket: { pause(): void } }
  slowSocket.once('open', () => slowSocket._socket.pause())
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()

  // Requests still in flight when a node stops would hold its shutdown: stop() waits for them first.
  const inFlight = new Set<Promise<unknown>>()
  const send = (request: Promise<unknown>) => {
    inFlight.add(request)
    void request.finally(() => inFlight.delete(request))
  }
  const started = Date.now()
  let ticks = 0
  const tick = setInterval(() => {
    const t = (Date.now() - started) / 1000
    ticks++
    for (let i = 0; i < rateAt(t) / 10; i++) {
      const device = pick(devices)
      send(post(pick(urls), device.user, pick(device.rooms), `message at ${t.toFixed(1)} s`))
    }
    if (t > 30 && t < 45) for (let i = 0; i < 6; i++) send(post(pick(urls), spammer, rooms[0] as number, 'over the limit'))
    if (t > 10 && t < 40) for (const flooder of [...flooders, ...flooders]) send(post(urls[0] as string, flooder, flood, FLOOD_TEXT))
    if (ticks % 10 === 0) {
      pick(devices).reconnect()
      send(fetch(`${pick(urls)}/api/no/such/route`).then((res) => res.arrayBuffer(), () => undefined))
    }
    if (ticks % 150 === 0) send(commitUnpublished(db, pick(rooms), spammer.username, 'committed, never published'))
  }, 100)
  return {
    async stop() {
      clearInterval(tick)
      await Promise.all(inFlight)
      for (const device of [...devices, slow]) device.close()
      await db.end()
    },
  }
}
