import t from 'tap'
import { MemoryBus, MemoryStream } from '../src/bus/memory-bus.js'
import { LocalHub, type ReadLog, type Subscriber } from '../src/hub/local-hub.js'
import { type EncodedEvent, encodeEvent, memberRemoved, messageCreated, messageView } from '../src/protocol/events.js'
import { until } from './helpers/waiting.js'

/**
 * The hub with the in-memory bus, two "nodes" on one stream, and a log kept in memory behind the
 * hub's ReadLog port: no Redis, no Postgres, and every path of delivery (order, notices, signals,
 * gap fills from the log, removals) in a few milliseconds.
 */

const CONVERSATION = 9
const quiet = { info: () => {}, warn: () => {}, error: () => {} }

/** A conversation's log, as the store would have it. */
class Log {
  readonly events: EncodedEvent[] = []
  reads = 0

  append(removes?: number): EncodedEvent {
    const seq = this.events.length + 1
    const event = encodeEvent(
      removes === undefined
        ? messageCreated(CONVERSATION, seq, messageView(CONVERSATION, seq, 'alice', `m${seq}`, new Date(0), null), false)
        : memberRemoved(CONVERSATION, seq, 'bob', 'alice', removes),
    )
    this.events.push(event)
    return event
  }

  readonly read: ReadLog = async (_conversationId, afterSeq) => {
    this.reads++
    return { lastSeq: this.events.length, events: afterSeq === undefined ? [] : this.events.slice(afterSeq) }
  }
}

function recorder(userId: number): Subscriber & { seqs: number[]; frames: { type: string }[] } {
  const seqs: number[] = []
  const frames: { type: string }[] = []
  const take = (frame: Buffer) => {
    const parsed = JSON.parse(frame.toString()) as { type: string; events?: { seq: number }[] }
    frames.push(parsed)
    for (const e of parsed.events ?? []) seqs.push(e.seq)
  }
  return { userId, seqs, frames, send: take, sendBackfill: async (frame) => (take(frame), true) }
}

async function node(log: Log, stream: MemoryStream, gapTimeoutMs = 10_000) {
  const options = { backlogMaxEvents: 100, backlogMaxBytes: 1 << 20, coalesceUsPerSubscriber: 0, coalesceMaxMs: 0 }
  const bus = new MemoryBus(stream)
  const hub = new LocalHub({ ...options, interest: bus, readLog: log.read, gapTimeoutMs, log: quiet })
  await bus.consume({ delivery: hub, control: () => {} })
  t.teardown(() => bus.close())
  return { hub, bus }
}

/** A writing node and a reading node on one stream, over one log. */
async function twoNodes() {
  const log = new Log()
  const stream = new MemoryStream()
  return { log, writer: await node(log, stream), reader: await node(log, stream) }
}

/** Subscribes live from the log's end, the way chat/subscriptions.ts does with no afterSeq. */
async function subscribeLive(hub: LocalHub, subscriber: Subscriber, log: Log) {
  const sync = hub.startSync(subscriber, CONVERSATION)
  const { lastSeq } = await log.read(CONVERSATION, undefined)
  hub.logRead(sync, lastSeq)
  hub.goLive(sync, lastSeq)
}

t.test('events published on one node reach subscribers on another in seq order, whatever order they were published in', async (t) => {
  const { log, writer, reader } = await twoNodes()
  const alice = recorder(1)
  await subscribeLive(reader.hub, alice, log)
  const [e1, e2, e3] = [log.append(), log.append(), log.append()] as EncodedEvent[]
  await Promise.all([writer.bus.publish(e3 as EncodedEvent), writer.bus.publish(e1 as EncodedEvent), writer.bus.publish(e2 as EncodedEvent)])
  await until(() => alice.seqs.length === 3, 'three events')
  t.same(alice.seqs, [1, 2, 3])
  t.equal(log.reads, 1, 'no gap fill: only the subscribe read the log')
})

t.test('a seq the bus never brings is read from the log once per node, not per socket', async (t) => {
  const log = new Log()
  const stream = new MemoryStream()
  const { hub, bus } = await node(log, stream, 20)
  const sockets = [recorder(1), recorder(2), recorder(3)]
  for (const socket of sockets) await subscribeLive(hub, socket, log)
  const readsBefore = log.reads
  log.append() // committed, but its publish was lost
  await bus.publish(log.append())
  await until(() => sockets.every((s) => s.seqs.length === 2), 'the gap filled')
  for (const socket of sockets) t.same(socket.seqs, [1, 2])
  t.equal(log.reads - readsBefore, 1, 'one read for the node')
})

t.test('a head the log reports fills a tail gap nothing on the bus would reveal', async (t) => {
  const log = new Log()
  const { hub } = await node(log, new MemoryStream(), 20)
  const alice = recorder(1)
  await subscribeLive(hub, alice, log)
  log.append()
  hub.catchUp([{ conversationId: CONVERSATION, lastSeq: 1 }])
  await until(() => alice.seqs.length === 1, 'the tail event')
  t.same(alice.seqs, [1])
})

t.test("notices reach their users' sockets, signals a conversation's subscribers but the sender's", async (t) => {
  const { log, writer, reader } = await twoNodes()
  const alice = recorder(1)
  const bob = recorder(2)
  for (const socket of [alice, bob]) {
    reader.hub.addSocket(socket as typeof socket & { userId: number })
    await subscribeLive(reader.hub, socket, log)
  }
  await writer.bus.publishNotice({ userIds: [2], json: '{"type":"conversation.hidden","conversationId":9}' })
  await writer.bus.publishSignal({ conversationId: CONVERSATION, exceptUserId: 2, json: '{"type":"typing"}' })
  await until(() => alice.frames.length === 1 && bob.frames.length === 1, 'one frame each')
  t.same(alice.frames, [{ type: 'typing' }])
  t.same(bob.frames, [{ type: 'conversation.hidden', conversationId: 9 }])
  reader.hub.removeSubscriber(bob)
  t.same(reader.hub.subscriptionsOf(bob), new Set(), 'a closed socket is forgotten')
})

t.test('a removal ends the removed user\'s subscription on every node, and the hub forgets the conversation with its last subscriber', async (t) => {
  const { log, writer, reader } = await twoNodes()
  const bob = recorder(2)
  await subscribeLive(reader.hub, bob, log)
  t.ok(reader.hub.watching)
  await writer.bus.publish(log.append())
  await writer.bus.publish(log.append(2))
  await writer.bus.publish(log.append())
  await until(() => bob.frames.some((f) => f.type === 'unsubscribed'), 'the removal')
  t.same(bob.seqs, [1, 2], 'events up to the removal, nothing after')
  t.notOk(reader.hub.subscriptionsOf(bob).has(CONVERSATION))
  t.notOk(reader.hub.watching, 'no subscriber left: no channel')
})
