import t from 'tap'
import { ApiError, ConversationState, FrameError, InboxState, findMentions, quoteOf } from '../client/src/index.js'
import { startCluster } from './helpers/cluster.js'
import { sdkPeople } from './helpers/sdk.js'
import { eventually } from './helpers/waiting.js'

/** The SDK's replies and mentions against 3 real nodes: replyTo on send and postMessage, api.replies, mention events, the states' quotes and mention counts. */

const PASSWORD = 'correct horse battery'
const nodes = await startCluster(t, 'sdk-replies', 3)
const urls = nodes.map((n) => n.url)

const { user, device } = sdkPeople(t, urls, PASSWORD)

t.test('replies: send and postMessage with replyTo, quotes kept current in ConversationState, api.replies paged', async (t) => {
  const ann = await user('ann', { firstUrl: 0 })
  const ben = await user('ben', { firstUrl: 1 })
  const id = await ann.api.createConversation({ title: 'sdk threads' })
  const original = await ann.api.postMessage(id, 'the original')
  const sent = await ben.send(id, 'a reply over the socket', { replyTo: original })
  t.same(sent.message.replyTo, { seq: original, url: `/api/conversations/${id}/${original}`, user: ann.name, text: 'the original' })
  const posted = await ann.api.postMessage(id, 'a reply over REST', { replyTo: original, idempotencyKey: 'k1' })
  t.same((await ben.api.message(id, posted)).replyTo?.seq, original)
  await t.rejects(ann.api.postMessage(id, 'to nowhere', { replyTo: 999 }), new ApiError(400, { status: 'invalid request', message: 'replyTo is not a message of this conversation' }, undefined), 'a bad replyTo is an ApiError 400')
  await t.rejects(ben.send(id, 'to nowhere', { replyTo: 999 }), new FrameError('invalid', 'replyTo is not a message of this conversation'), 'and a FrameError on the socket')

  const view = new ConversationState(ben, id)
  t.teardown(() => view.close())
  await view.open()
  const quotes = () => view.messages.filter((m) => m.replyTo).map((m) => m.replyTo)
  t.equal(quotes().length, 2)
  const longer = 'y'.repeat(150)
  await ann.api.editMessage(id, original, longer)
  await eventually(t, () => quotes().every((q) => q?.text === quoteOf(longer)), 'an edit of the original updates the quotes, cut as the server cuts them')
  t.equal(quoteOf(longer).length, 101)
  await ann.api.deleteMessage(id, original)
  await eventually(t, () => quotes().every((q) => q?.deleted === true && q.text === ''), 'a delete shows the quotes as deleted')

  const first = await ben.api.replies(id, original, { limit: 1 })
  t.same([first.replies.map((m) => m.text), first.next], [['a reply over the socket'], String(sent.seq)])
  const rest = await ben.api.replies(id, original, { limit: 1, after: first.next as string })
  t.same([rest.replies.map((m) => m.text), rest.next], [['a reply over REST'], null])
})

t.test("mentions: the mention event on every device, InboxState's mention count until read", async (t) => {
  const ann = await user('ann', { firstUrl: 0 })
  const ben = await user('ben', { firstUrl: 1 })
  const benPhone = await device(ben, { firstUrl: 2 })
  const id = await ann.api.createConversation({ title: 'sdk mentions', kind: 'private', members: [ben.name] })
  const inbox = new InboxState(benPhone)
  t.teardown(() => inbox.close())
  await inbox.load()
  t.match(inbox.entry(id), { mentions: 0 })

  const told = [ben, benPhone].map((client) => new Promise((resolve) => client.on('mention', resolve)))
  const text = `hi @${ben.name}`
  t.same(findMentions(text).map((m) => m.name), [ben.name])
  const sent = await ann.send(id, text)
  for (const notice of await Promise.all(told))
    t.same(notice, { type: 'mention', conversationId: id, seq: sent.seq, url: sent.message.url, by: ann.name, text })
  await eventually(t, () => inbox.entry(id)?.mentions === 1, 'the inbox counts the mention')
  await ann.send(id, `again @${ben.name}`)
  await eventually(t, () => inbox.entry(id)?.mentions === 2, 'and the next')
  await ann.api.deleteMessage(id, sent.seq)
  await eventually(t, () => inbox.entry(id)?.mentions === 1, 'a deleted mention counts no more')
  const marker = await ben.markRead(id, sent.seq + 10)
  t.match(marker, { unread: 0, mentions: 0 })
  await eventually(t, () => inbox.entry(id)?.mentions === 0, 'the read marker clears it on the other device')
  await inbox.load()
  t.match(inbox.entry(id), { mentions: 0, unread: 0 }, 'as a fresh read says')
})
