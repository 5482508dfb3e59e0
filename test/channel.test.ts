import t from 'tap'
import { Channel, type ChannelOptions } from '../src/hub/channel.js'
import type { Subscriber } from '../src/hub/sockets.js'
import type { EncodedEvent } from '../src/protocol/events.js'
import { until } from './helpers/waiting.js'

/** A channel's unit tests: it does no I/O, so a subscriber that records its frames is all it needs. */

const CONVERSATION = 5

const event = (seq: number, removes?: number): EncodedEvent => ({
  conversationId: CONVERSATION,
  seq,
  ...(removes === undefined ? {} : { removes }),
  json: JSON.stringify({ type: removes === undefined ? 'message.created' : 'member.removed', conversationId: CONVERSATION, seq }),
})

interface Recorder extends Subscriber {
  frames: { type: string; events?: { seq: number }[]; reason?: string }[]
  /** Seqs of every event received, in order. */
  seqs(): number[]
}

function recorder(userId: number | undefined): Recorder {
  const frames: Recorder['frames'] = []
  return {
    userId,
    frames,
    send: (frame) => void frames.push(JSON.parse(frame.toString())),
    sendBackfill: async (frame) => {
      frames.push(JSON.parse(frame.toString()))
      return true
    },
    seqs: () => frames.flatMap((f) => (f.events ?? []).map((e) => e.seq)),
  }
}

const noSpacing: ChannelOptions = { backlogMaxEvents: 100, backlogMaxBytes: 1 << 20, coalesceUsPerSubscriber: 0, coalesceMaxMs: 0 }

/** A channel with one live subscriber, started at `lastSeq`; cut-offs are recorded. */
function liveChannel(lastSeq: number, options = noSpacing) {
  const cutOff: Subscriber[] = []
  const channel = new Channel(CONVERSATION, options, (subscriber) => {
    cutOff.push(subscriber)
    channel.remove(subscriber)
  })
  const alice = recorder(1)
  const sync = channel.startSync(alice)
  channel.logRead(sync, lastSeq)
  channel.goLive(sync, lastSeq)
  return { channel, alice, cutOff }
}

t.test('events that come out of order, or twice, go out in seq order, once each', async (t) => {
  const { channel, alice } = liveChannel(10)
  channel.accept([event(12), event(11), event(14)])
  t.same(alice.seqs(), [11, 12], '14 waits for 13')
  t.ok(channel.behind, 'a seq is missing')
  channel.accept([event(13), event(12), event(9)])
  t.same(alice.seqs(), [11, 12, 13, 14])
  t.notOk(channel.behind)
  t.equal(channel.relayedThrough, 14)
})

t.test('a head past what was relayed is a gap, until the events come', async (t) => {
  const { channel, alice } = liveChannel(3)
  t.notOk(channel.advanceHead(2), 'an older head is no news')
  t.ok(channel.advanceHead(5))
  t.ok(channel.behind)
  channel.accept([event(4), event(5)])
  t.notOk(channel.behind)
  t.same(alice.seqs(), [4, 5])
})

t.test("a removal ends the removed user's subscription after the events up to it", async (t) => {
  const { channel, alice, cutOff } = liveChannel(0)
  const bob = recorder(2)
  const sync = channel.startSync(bob)
  channel.logRead(sync, 0)
  channel.goLive(sync, 0)
  channel.accept([event(1), event(2, 1), event(3)])
  t.same(alice.seqs(), [1, 2], 'alice gets her own removal, and nothing after it')
  t.same(alice.frames.at(-1), { type: 'unsubscribed', conversationId: CONVERSATION, reason: 'removed' })
  t.same(cutOff, [alice])
  t.same(bob.seqs(), [1, 2, 3])
  t.notOk(channel.has(alice))
})

t.test('a subscriber whose backfill runs gets nothing live; what comes is held within bounds', async (t) => {
  const { channel, alice } = liveChannel(0, { ...noSpacing, backlogMaxEvents: 3 })
  const carol = recorder(3)
  const sync = channel.startSync(carol)
  channel.logRead(sync, 0)
  channel.accept([event(1), event(2)])
  t.same(carol.frames, [], 'nothing written while the backfill runs')
  t.same(sync.takeBacklog(1).map((e) => e.seq), [2], 'the backlog past what the backfill sent')
  t.same(sync.takeBacklog(0), [], 'taking empties it')
  channel.accept([event(3), event(4), event(5), event(6)])
  t.ok(sync.overflowed, 'past its bound the backlog is dropped: the subscriber must resume again')
  t.same(alice.seqs(), [1, 2, 3, 4, 5, 6], 'the live subscriber is not held back')
  t.equal(channel.goLive(sync, 6), 6)
  channel.accept([event(7)])
  t.same(carol.seqs(), [7])
})

t.test("a removal during a subscriber's backfill marks where its subscription ends", async (t) => {
  const { channel } = liveChannel(0)
  const alice = recorder(1)
  const sync = channel.startSync(alice)
  channel.logRead(sync, 0)
  channel.accept([event(1), event(2, 1)])
  t.notOk(sync.endsAt(1))
  t.ok(sync.endsAt(2))
  t.same(sync.takeBacklog(0).map((e) => e.seq), [1, 2])
})

t.test('a busy channel spaces its frames: events that come meanwhile share the next one', async (t) => {
  const { channel, alice } = liveChannel(0, { ...noSpacing, coalesceUsPerSubscriber: 50_000, coalesceMaxMs: 50 })
  t.teardown(() => channel.close())
  channel.accept([event(1)])
  channel.accept([event(2)])
  channel.accept([event(3)])
  t.equal(alice.frames.length, 1, 'the first frame goes at once')
  await until(() => alice.frames.length === 2, 'the next frame')
  t.same(
    alice.frames.map((f) => f.events?.map((e) => e.seq)),
    [[1], [2, 3]],
  )
})

t.test('a signal goes to live subscribers but its sender', async (t) => {
  const { channel, alice } = liveChannel(0)
  const bob = recorder(2)
  const sync = channel.startSync(bob)
  channel.logRead(sync, 0)
  channel.goLive(sync, 0)
  channel.signal(JSON.stringify({ type: 'typing', conversationId: CONVERSATION, user: 'bob', expiresInMs: 6000 }), 2)
  t.same(alice.frames, [{ type: 'typing', conversationId: CONVERSATION, user: 'bob', expiresInMs: 6000 }])
  t.same(bob.frames, [])
})
