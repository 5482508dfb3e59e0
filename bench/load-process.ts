/**
 * A load-generating process of the bench: holds simulated devices (WebSockets), posts open loop, and
 * checks every delivery by conversation and seq. Driven over IPC by bench/run.ts (see bench/ipc.ts).
 */
import { Client } from 'undici'
import WebSocket from 'ws'
import type { Command, DeliveryOutcome, Lane, PostOutcome, Replies, Request, SeqRanges, SocketSpec, StepPlan } from './ipc.js'
import { encodeHistogram, epochNow, latencyHistogram } from './latency.js'
import { times } from './fixtures.js'
import { BENCH_TEXT_PREFIX, forEachEvent, isEventsFrame } from './frame-scan.js'
import { SeqSet, toRanges } from './seq-set.js'

/** What one socket has seen of one conversation. */
interface Tracker {
  seen: SeqSet
  lastSeq: number
}

type Pending = { resolve: (frame: any) => void; reject: (err: Error) => void }

const ACK_TIMEOUT_MS = 20_000

let step = { startAt: 0, endAt: 0, delivered: 0, inWindow: 0, dup: 0, reordered: 0, latency: latencyHistogram() }

class Device {
  ws: WebSocket | undefined
  readonly trackers = new Map<number, Tracker>()
  private readonly pending = new Map<string, Pending>()
  private nextId = 0
  /** Set while resuming: called after each batch of events. */
  onEvents: (() => void) | undefined

  constructor(readonly spec: SocketSpec) {}

  /** Opens the socket and resolves on the server's welcome frame. */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.spec.url.replace(/^http/, 'ws') + '/ws', {
        headers: { cookie: this.spec.cookie },
        perMessageDeflate: false,
        skipUTF8Validation: true,
      })
      this.ws = ws
      // Errors after the welcome are followed by a close, which rejects what is pending.
      ws.on('error', reject)
      ws.on('close', () => {
        for (const p of this.pending.values()) p.reject(new Error('socket closed'))
        this.pending.clear()
      })
      ws.on('message', (data: Buffer) => {
        if (isEventsFrame(data)) return this.receive(data)
        const frame = JSON.parse(data.toString())
        if (frame.type === 'welcome') return resolve()
        const waiter = frame.id === undefined ? undefined : this.pending.get(frame.id)
        if (!waiter) return
        this.pending.delete(frame.id)
        if (frame.type === 'error') waiter.reject(new Error(`${frame.code}: ${frame.message}`))
        else waiter.resolve(frame)
      })
    })
  }

  /** Sends a frame with a fresh id and resolves with the server's answer to it. */
  call(frame: Record<string, unknown>): Promise<any> {
    const id = `r${++this.nextId}`
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.ws!.send(JSON.stringify({ ...frame, id }))
    })
  }

  /** Subscribes from the last seq seen (or from now), paging through resumes the server cuts short. */
  async subscribe(conversationId: number): Promise<number> {
    let calls = 0
    for (;;) {
      const tracker = this.trackers.get(conversationId)
      const reply = await this.call({ type: 'subscribe', conversationId, ...(tracker ? { afterSeq: tracker.lastSeq } : {}) })
      calls++
      if (!tracker) this.trackers.set(conversationId, { seen: new SeqSet(reply.lastSeq), lastSeq: reply.lastSeq })
      if (reply.complete) return calls
    }
  }

  private receive(frame: Buffer): void {
    const now = epochNow()
    forEachEvent(frame, (conversationId, seq, dueAt) => {
      const tracker = this.trackers.get(conversationId)
      if (!tracker) return
      if (!tracker.seen.add(seq)) {
        step.dup++
        return
      }
      if (seq < tracker.lastSeq) step.reordered++
      else tracker.lastSeq = seq
      step.delivered++
      if (now >= step.startAt && now <= step.endAt) step.inWindow++
      if (!Number.isNaN(dueAt)) step.latency.recordValue(Math.max(1, Math.round((now - dueAt) * 1000)))
    })
    this.onEvents?.()
  }
}

const devices = new Map<number, Device>()

async function open(specs: SocketSpec[]): Promise<Replies['open']> {
  await times(specs.length, 100, async (i) => {
    const spec = specs[i] as SocketSpec
    const device = new Device(spec)
    devices.set(spec.key, device)
    await device.connect()
    for (const id of spec.conversationIds) await device.subscribe(id)
  })
  return { opened: specs.length }
}

/** REST lanes keep one keep-alive connection each, as separate HTTP clients would. */
const restClients = new Map<Lane, Client>()

async function postRest(lane: Extract<Lane, { kind: 'rest' }>, conversationId: number, text: string): Promise<number> {
  let client = restClients.get(lane)
  if (!client) restClients.set(lane, (client = new Client(lane.url, { pipelining: 1 })))
  const res = await client.request({
    method: 'POST',
    path: `/api/conversations/${conversationId}`,
    headers: { cookie: lane.cookie, 'content-type': 'application/json' },
    body: JSON.stringify({ text }),
  })
  const body = (await res.body.json()) as { url?: string }
  if (res.statusCode !== 201 || !body.url) throw new Error(`POST answered ${res.statusCode}`)
  return Number(body.url.slice(body.url.lastIndexOf('/') + 1))
}

async function postWs(lane: Extract<Lane, { kind: 'ws' }>, conversationId: number, text: string): Promise<number> {
  const device = devices.get(lane.socketKey)
  if (!device) throw new Error(`no socket ${lane.socketKey} in this process`)
  const ack = await device.call({ type: 'send', conversationId, text })
  return ack.seq as number
}

/** Open loop: message k is due at startAt + k / rate whether or not earlier ones were answered. */
async function post(plan: StepPlan, processIndex: number, processes: number): Promise<PostOutcome> {
  const { startAt, durationMs, rate, lanes } = plan
  step = { startAt, endAt: startAt + durationMs, delivered: 0, inWindow: 0, dup: 0, reordered: 0, latency: latencyHistogram() }
  const ackLatency = latencyHistogram()
  const acked = new Map<number, number[]>()
  const total = Math.floor((rate * durationMs) / 1000)
  const interval = 1000 / rate
  const inFlight: Promise<void>[] = []
  let sent = 0
  let failed = 0

  const send = (k: number) => {
    const lane = lanes[k % lanes.length] as Lane
    const round = Math.floor(k / lanes.length)
    const conversationId = lane.conversationIds[round % lane.conversationIds.length] as number
    const dueAt = startAt + k * interval
    const text = BENCH_TEXT_PREFIX + dueAt.toFixed(3)
    sent++
    const posted = lane.kind === 'ws' ? postWs(lane, conversationId, text) : postRest(lane, conversationId, text)
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer')), ACK_TIMEOUT_MS)))
    inFlight.push(
      Promise.race([posted, timeout]).finally(() => clearTimeout(timer)).then(
        (seq) => {
          ackLatency.recordValue(Math.max(1, Math.round((epochNow() - dueAt) * 1000)))
          const seqs = acked.get(conversationId)
          if (seqs) seqs.push(seq)
          else acked.set(conversationId, [seq])
        },
        () => void failed++,
      ),
    )
  }

  let k = 0
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = epochNow()
      for (; k < total && startAt + k * interval <= now; k++) if ((k % lanes.length) % processes === processIndex) send(k)
      if (k < total) setTimeout(tick, 1)
      else resolve()
    }
    setTimeout(tick, Math.max(0, startAt - epochNow()))
  })
  await Promise.all(inFlight)
  const ranges: SeqRanges = {}
  for (const [id, seqs] of acked) ranges[id] = toRanges(seqs)
  return { sent, acked: ranges, failed, ackLatency: encodeHistogram(ackLatency) }
}

function collect(expected: SeqRanges): DeliveryOutcome {
  let lost = 0
  for (const device of devices.values()) {
    for (const [id, tracker] of device.trackers) {
      for (const [from, to] of expected[id] ?? []) for (let seq = from; seq <= to; seq++) if (!tracker.seen.has(seq)) lost++
    }
  }
  return { lost, dup: step.dup, reordered: step.reordered, inWindow: step.inWindow, latency: encodeHistogram(step.latency) }
}

function drop(): Replies['drop'] {
  for (const device of devices.values()) device.ws?.terminate()
  return { dropped: devices.size }
}

/** Every device reconnects at once and resumes; resolves when the last one has every seq up to its target. */
async function resume(target: Record<number, number>): Promise<Replies['resume']> {
  const converged = (device: Device) => [...device.trackers].every(([id, t]) => t.lastSeq >= (target[id] ?? 0))
  let waiting = 0
  let resubscribes = 0
  let convergedAt = epochNow()
  let done: () => void = () => {}
  const allConverged = new Promise<void>((resolve) => (done = resolve))
  const settle = (device: Device) => {
    device.onEvents = undefined
    convergedAt = epochNow()
    if (--waiting === 0) done()
  }
  for (const device of devices.values()) {
    if (converged(device)) continue
    waiting++
    device.onEvents = () => converged(device) && settle(device)
  }
  if (waiting === 0) return { convergedAt, resubscribes }
  await Promise.all(
    [...devices.values()].map(async (device) => {
      await device.connect()
      for (const id of device.trackers.keys()) resubscribes += (await device.subscribe(id)) - 1
    }),
  )
  await allConverged
  return { convergedAt, resubscribes }
}

async function closeAll(): Promise<Replies['closeAll']> {
  const closed = devices.size
  await Promise.all(
    [...devices.values()].map(
      (device) =>
        new Promise<void>((resolve) => {
          const ws = device.ws
          if (!ws || ws.readyState === ws.CLOSED) return resolve()
          ws.once('close', () => resolve())
          ws.close()
        }),
    ),
  )
  devices.clear()
  for (const client of restClients.values()) await client.close()
  restClients.clear()
  return { closed }
}

async function handle(command: Command): Promise<unknown> {
  switch (command.cmd) {
    case 'open':
      return open(command.sockets)
    case 'drop':
      return drop()
    case 'resume':
      return resume(command.target)
    case 'closeAll':
      return closeAll()
    case 'post':
      return post(command.plan, command.processIndex, command.processes)
    case 'progress':
      return { delivered: step.delivered }
    case 'collect':
      return collect(command.expected)
  }
}

process.on('message', (request: Request) => {
  handle(request).then(
    (result) => process.send!({ id: request.id, ok: true, result }),
    (err: unknown) => process.send!({ id: request.id, ok: false, error: String(err instanceof Error ? err.stack : err) }),
  )
})
process.on('disconnect', () => process.exit(0))
