import t from 'tap'
import { ApiError, type ChatClient, ConversationState, REACTIONS_PER_MESSAGE_MAX, applyReaction } from '../client/src/index.js'
import { startNode } from './helpers/in-process.js'
import { sdkPeople } from './helpers/sdk.js'
import { eventually } from './helpers/waiting.js'

/** The SDK's reactions: its calls, applyReaction, and ConversationState keeping each message's reactions current from the events. */

const PASSWORD = 'correct horse battery'
const node = await startNode(t, 'sdk-reactions')

const { user, device } = sdkPeople(t, [node.url], PASSWORD)

async function opened(client: ChatClient, conversationId: number): Promise<ConversationState> {
  const state = new ConversationState(client, conversationId)
  t.teardown(() => state.close())
  await state.open()
  return state
}

const reactionsOf = (state: ConversationState, seq: number) => state.messages.find((m) => m.seq === seq)?.reactions

t.test('react and unreact: the reply says whether anything changed, and the reactions now', async (t) => {
  const ann = await user('ann')
  const conversationId = await ann.api.createConversation({ title: 'calls' })
  const seq = await ann.api.postMessage(conversationId, 'hello')
  t.same(await ann.api.react(conversationId, seq, '👋'), { changed: true, reactions: [{ emoji: '👋', count: 1, me: true }] })
  t.same(await ann.api.react(conversationId, seq, '👋'), { changed: false, reactions: [{ emoji: '👋', count: 1, me: true }] }, 'again: nothing changes')
  t.same((await ann.api.message(conversationId, seq)).reactions, [{ emoji: '👋', count: 1, me: true }])
  t.same(await ann.api.unreact(conversationId, seq, '👋'), { changed: true, reactions: [] })
  t.same(await ann.api.unreact(conversationId, seq, '👋'), { changed: false, reactions: [] })
  const refused = await ann.api.react(conversationId, seq, 'not an emoji').catch((err: unknown) => err)
  t.ok(refused instanceof ApiError && refused.status === 400, 'not an emoji: ApiError 400')
  t.equal(REACTIONS_PER_MESSAGE_MAX, 20)
})

t.test('ConversationState: reactions on messages kept current from the events, me for this user', async (t) => {
  const ann = await user('ann')
  const ben = await user('ben')
  const conversationId = await ann.api.createConversation({ title: 'state', kind: 'private', members: [ben.name] })
  const first = await ann.api.postMessage(conversationId, 'first')
  const second = await ben.api.postMessage(conversationId, 'second')
  await ann.api.react(conversationId, first, '👍')
  await ann.api.react(conversationId, second, '🎉')
  await ann.api.postMessage(conversationId, 'newest')
  // The page read shows both reactions; the subscription from the newest message's seq replays none of them.
  const annView = await opened(ann, conversationId)
  t.same(reactionsOf(annView, first), [{ emoji: '👍', count: 1, me: true }], 'from the page read')
  // A reaction to an older message after the newest one is replayed on top of the page: no double count.
  await ben.api.react(conversationId, first, '👍')
  const benView = await opened(ben, conversationId)
  t.same(reactionsOf(benView, first), [{ emoji: '👍', count: 2, me: true }], 'the replayed event the page already shows changes nothing')
  t.same(reactionsOf(benView, second), [{ emoji: '🎉', count: 1, me: false }])
  await eventually(t, () => reactionsOf(annView, first)?.[0]?.count === 2, "ben's reaction reaches ann's view")
  t.same(reactionsOf(annView, first), [{ emoji: '👍', count: 2, me: true }], "someone else's reaction leaves me as it was")

  const annElsewhere = await device(ann)
  const annView2 = await opened(annElsewhere, conversationId)
  t.same((await annView.toggleReaction(first, '👍')).changed, true, 'a toggle of a reaction the view shows as mine takes it back')
  for (const view of [annView, annView2]) await eventually(t, () => reactionsOf(view, first)?.[0]?.me === false, 'on each of ann\'s devices')
  t.same(reactionsOf(annView2, first), [{ emoji: '👍', count: 1, me: false }])
  await eventually(t, () => reactionsOf(benView, first)?.[0]?.count === 1 && reactionsOf(benView, first)?.[0]?.me === true, "ben's view: one, his")
  await benView.toggleReaction(first, '👍')
  await eventually(t, () => reactionsOf(annView, first)?.length === 0, 'the last one taken back: the emoji goes')
  await annView2.toggleReaction(second, '❤️')
  await eventually(t, () => reactionsOf(annView, second)?.length === 2, 'a new emoji goes last')
  t.same(reactionsOf(annView, second), [{ emoji: '🎉', count: 1, me: true }, { emoji: '❤️', count: 1, me: true }])

  ann.disconnect()
  await ben.api.react(conversationId, second, '❤️')
  await ben.api.react(conversationId, first, '😮')
  await ann.connect()
  await eventually(t, () => reactionsOf(annView, second)?.[1]?.count === 2 && reactionsOf(annView, first)?.length === 1, 'what happened while away, on resume')
  t.same(reactionsOf(annView, first), [{ emoji: '😮', count: 1, me: false }])
  t.same(annView.messages.map((m) => m.reactions), (await ann.api.messages(conversationId)).map((m) => m.reactions), 'as the server has them')
})

t.test('applyReaction', async (t) => {
  const added = (emoji: string, user: string, count: number) =>
    ({ type: 'reaction.added', conversationId: 1, seq: 9, messageSeq: 1, url: '/api/conversations/1/1', emoji, user, count }) as const
  const removed = (emoji: string, user: string, count: number) => ({ ...added(emoji, user, count), type: 'reaction.removed' }) as const
  t.same(applyReaction([], added('👍', 'ann', 1), 'ann'), [{ emoji: '👍', count: 1, me: true }])
  t.same(applyReaction([], added('👍', 'ben', 1), 'ann'), [{ emoji: '👍', count: 1, me: false }])
  t.same(applyReaction([{ emoji: '👍', count: 1, me: true }], added('👍', 'ben', 2), 'ann'), [{ emoji: '👍', count: 2, me: true }], 'another user keeps me')
  t.same(applyReaction([{ emoji: '👍', count: 2, me: true }], removed('👍', 'ann', 1), 'ann'), [{ emoji: '👍', count: 1, me: false }])
  t.same(applyReaction([{ emoji: '👍', count: 1, me: true }, { emoji: '🎉', count: 1, me: false }], removed('👍', 'ann', 0), 'ann'), [{ emoji: '🎉', count: 1, me: false }])
  t.same(applyReaction([{ emoji: '👍', count: 2, me: true }], added('👍', 'ann', 2), 'ann'), [{ emoji: '👍', count: 2, me: true }], 'an event already shown: no change')
  t.same(applyReaction([], added('👍', 'ann', 1), null), [{ emoji: '👍', count: 1, me: false }], 'nobody signed in')
})
