import t from 'tap'
import { ApiError, type ChatEvent } from '../client/src/index.js'
import { newUsername } from './helpers/http-client.js'
import { startNode } from './helpers/in-process.js'
import { sdkClient } from './helpers/sdk.js'
import { until } from './helpers/waiting.js'

t.test('the SDK registers, subscribes, sends exactly once and receives in order', async (t) => {
  const node = await startNode(t, 'sdk-basic')
  const alice = sdkClient(t, [node.url])
  const bob = sdkClient(t, [node.url], { auth: 'tokens' })
  const aliceName = newUsername('alice')
  await alice.register(aliceName)
  await bob.register(newUsername('bob'), 'a long password')
  t.ok(bob.tokens?.accessToken, 'bob holds tokens')
  const conversationId = await alice.api.createConversation({ title: 'sdk' })
  await Promise.all([alice.connect(), bob.connect()])
  t.equal(alice.user, aliceName)
  await alice.subscribe(conversationId)
  await bob.subscribe(conversationId)
  const seen: ChatEvent[] = []
  bob.on('event', (event) => seen.push(event))
  const sent = await alice.send(conversationId, 'hello')
  t.equal(sent.seq, 1)
  t.equal(sent.message.text, 'hello')
  const again = await alice.send(conversationId, 'hello', { id: 'fixed-id' })
  const repeat = await alice.send(conversationId, 'hello', { id: 'fixed-id' })
  t.equal(repeat.seq, again.seq, 'the same id stores once')
  await until(() => seen.length === 2, 'bob gets both')
  t.same(seen.map((event) => event.seq), [1, 2])
  const error = await bob.api.messages(9999).catch((err: unknown) => err)
  t.ok(error instanceof ApiError && error.status === 404, 'errors are typed')
})

t.test('the SDK searches, pages and reads highlights', async (t) => {
  const node = await startNode(t, 'sdk-search')
  const alice = sdkClient(t, [node.url])
  await alice.register(newUsername('alice'))
  const conversationId = await alice.api.createConversation({ title: 'search' })
  for (const text of ['the kettle is on', 'kettle again', 'no match here']) await alice.api.postMessage(conversationId, text)
  const first = await alice.api.search('kettle', { limit: 1 })
  t.equal(first.results.length, 1)
  const [hit] = first.results
  t.equal(hit?.message.text, 'kettle again', 'newest first')
  t.same(hit?.highlights, [{ start: 0, end: 6 }], 'offsets of the match')
  t.type(first.next, 'string')
  const second = await alice.api.search('kettle', { limit: 1, cursor: first.next as string })
  t.same(second.results.map((r) => r.message.text), ['the kettle is on'])
  t.equal(second.next, null, 'the end')
  const ranked = await alice.api.search('kettle', { conversation: conversationId, order: 'rank' })
  t.equal(ranked.results.length, 2)
  const error = await alice.api.search(' ').catch((err: unknown) => err)
  t.ok(error instanceof ApiError && error.status === 400, 'a blank query is refused')
})
