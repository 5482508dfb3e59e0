import t from 'tap'
import { startNode } from './helpers/in-process.js'
import { createConversation, postMessage, register } from './helpers/http-client.js'
import { TestSocket } from './helpers/ws-client.js'

// Frames of a conversation at least 1 s apart even for a single subscriber: posts in between coalesce.
const { url } = await startNode(t, 'coalescing', { COALESCE_US_PER_SUBSCRIBER: '1000000', COALESCE_MAX_MS: '1000' })
const alice = await register(url)

const eventFrames = (socket: TestSocket) => socket.frames.filter((f) => f.type === 'events')

t.test('events that come while a frame is held back share the next frame, in order', async (t) => {
  const { id } = await createConversation(url, alice.cookie)
  const socket = await TestSocket.connect(url, alice.cookie)
  t.teardown(() => socket.close())
  await socket.call({ type: 'subscribe', id: 's', conversationId: id })
  for (let i = 1; i <= 6; i++) await postMessage(url, alice.cookie, id, `m${i}`)
  const events = await socket.waitForEvents(6)
  t.same(
    events.map((e) => [e.seq, e.message.text]),
    [1, 2, 3, 4, 5, 6].map((n) => [n, `m${n}`]),
  )
  t.ok(eventFrames(socket).length < 6, `6 events came in ${eventFrames(socket).length} frames`)
})

t.test('a socket that resumes while a frame is held back gets every event once', async (t) => {
  const { id } = await createConversation(url, alice.cookie)
  const live = await TestSocket.connect(url, alice.cookie)
  t.teardown(() => live.close())
  await live.call({ type: 'subscribe', id: 's', conversationId: id })
  await postMessage(url, alice.cookie, id, 'm1')
  await live.waitForEvents(1)
  // The channel just sent a frame, so the next events wait for its spacing.
  await postMessage(url, alice.cookie, id, 'm2')
  await postMessage(url, alice.cookie, id, 'm3')
  const resuming = await TestSocket.connect(url, alice.cookie)
  t.teardown(() => resuming.close())
  const reply = await resuming.call({ type: 'subscribe', id: 'r', conversationId: id, afterSeq: 1 })
  t.equal(reply.complete, true)
  await postMessage(url, alice.cookie, id, 'm4')
  t.same(
    (await resuming.waitForEvents(3)).map((e) => e.seq),
    [2, 3, 4],
  )
  t.same(
    (await live.waitForEvents(4)).map((e) => e.seq),
    [1, 2, 3, 4],
  )
  // Past the spacing, so that a late duplicate would have arrived.
  await new Promise((resolve) => setTimeout(resolve, 1200))
  t.equal(resuming.events.length, 3, 'nothing twice')
  t.equal(live.events.length, 4, 'nothing twice')
})
