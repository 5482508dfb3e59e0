import t from 'tap'
import { type ChatClient, ConversationState, InboxState } from '../client/src/index.js'
import { newUsername } from './helpers/http-client.js'
import { startNode } from './helpers/in-process.js'
import { sdkClient, sdkPeople } from './helpers/sdk.js'
import { eventually, until } from './helpers/waiting.js'

const PASSWORD = 'correct horse battery'
// A short presence time to live: a user whose last socket closed goes offline within a second.
const node = await startNode(t, 'sdk-state', { PRESENCE_TTL_SECONDS: '3' })

const people = sdkPeople(t, [node.url], PASSWORD)
const { device } = people

/** A registered, connected user; `afterRead` runs after each GET's answer arrives, before the client reads it. */
function user(prefix: string, hooks: { afterRead?: (path: string) => Promise<void> } = {}): Promise<ChatClient & { name: string }> {
  const fetchWithHook: typeof fetch = async (input, init) => {
    const response = await fetch(input, init)
    const path = new URL(String(input)).pathname
    if (hooks.afterRead && init?.method === 'GET') await hooks.afterRead(path)
    return response
  }
  return people.user(prefix, { fetch: fetchWithHook })
}

function inboxOf(client: ChatClient): InboxState {
  const inbox = new InboxState(client)
  t.teardown(() => inbox.close())
  return inbox
}

function conversationOf(client: ChatClient, id: number, pageSize?: number): ConversationState {
  const state = new ConversationState(client, id, pageSize === undefined ? {} : { pageSize })
  t.teardown(() => state.close())
  return state
}

t.test('the inbox: what was read, then every change, with unread counts that agree with the server', async (t) => {
  const ann = await user('ann')
  const ben = await user('ben')
  const group = await ann.api.createConversation({ title: 'group', kind: 'private', members: [ben.name] })
  const quiet = await ann.api.createConversation({ title: 'quiet' })
  await ben.api.postMessage(group, 'before the read')
  const inbox = inboxOf(ann)
  await inbox.load()
  t.same(inbox.entries.map((e) => [e.title, e.unread, e.lastMessage?.text ?? null]), [['group', 1, 'before the read'], ['quiet', 0, null]])

  await ben.api.postMessage(group, 'one')
  await ann.api.postMessage(group, 'mine')
  const two = await ben.api.postMessage(group, 'two')
  await eventually(t, () => inbox.entry(group)?.lastMessage?.text === 'two', 'the newest message')
  t.same(inbox.entries.map((e) => e.id), [group, quiet], 'the busy one moves to the top')
  t.equal(inbox.entry(group)?.unread, 3, "the user's own message is not unread")

  await ben.api.editMessage(group, two, 'two, edited')
  await eventually(t, () => inbox.entry(group)?.lastMessage?.text === 'two, edited', 'the edit of the last message')
  await ben.api.deleteMessage(group, two)
  await eventually(t, () => inbox.entry(group)?.lastMessage?.text === 'mine', 'the message before the deleted one')
  t.equal(inbox.entry(group)?.unread, 2, 'an unread message deleted is one unread fewer')
  const server = (await ann.api.inbox()).conversations.find((c) => c.id === group)
  t.equal(server?.unread, 2, 'as the server counts')

  const annElsewhere = await device(ann)
  const marker = await annElsewhere.markRead(group, inbox.entry(group)!.lastSeq)
  await eventually(t, () => inbox.entry(group)?.unread === 0, 'the read notice of the other device')
  t.equal(inbox.entry(group)?.readSeq, marker.seq)

  const cleo = await user('cleo')
  await cleo.api.openDirect(ann.name)
  await eventually(t, () => inbox.entries.some((e) => e.title === cleo.name), 'a direct conversation started by someone else')
  const direct = inbox.entries.find((e) => e.title === cleo.name)!
  t.equal(direct.user?.online, true, 'with its user online')
  await cleo.api.postMessage(direct.id, 'hi ann')
  await eventually(t, () => inbox.entry(direct.id)?.unread === 1, 'its first message, followed from the start')
  cleo.disconnect()
  await eventually(t, () => inbox.entry(direct.id)?.user?.online === false, 'presence: offline', 15_000)

  await ann.api.hide(quiet)
  await eventually(t, () => !inbox.entry(quiet), 'a hidden conversation leaves the inbox')
  await ben.api.postMessage(quiet, 'anyone here?')
  await eventually(t, () => inbox.entry(quiet)?.lastMessage?.text === 'anyone here?', 'and comes back with its next message')

  const dan = await user('dan')
  const dans = await dan.api.createConversation({ title: "dan's", kind: 'private', members: [ann.name] })
  await eventually(t, () => inbox.entry(dans), 'added by its owner')
  await dan.api.removeMember(dans, ann.name)
  await eventually(t, () => !inbox.entry(dans), 'removed by its owner')
})

t.test('the inbox misses nothing posted between its read and its subscription, and reads again after a reconnect', async (t) => {
  const poster = await user('poster')
  let conversationId = 0
  let racing = true
  const reader = await user('reader', {
    afterRead: async (path) => {
      if (path !== '/api/inbox' || !racing) return
      racing = false
      await poster.api.postMessage(conversationId, 'between the read and the subscription')
    },
  })
  conversationId = await poster.api.createConversation({ title: 'race', kind: 'private', members: [reader.name] })
  const inbox = inboxOf(reader)
  await inbox.load()
  await eventually(t, () => inbox.entry(conversationId)?.unread === 1, 'the message posted in between')
  t.equal(inbox.entry(conversationId)?.lastMessage?.text, 'between the read and the subscription')

  reader.disconnect()
  const readerElsewhere = await device(reader)
  await readerElsewhere.markRead(conversationId, 100)
  const notMissed = await poster.api.createConversation({ title: 'while away', kind: 'private', members: [reader.name] })
  await reader.connect()
  await eventually(t, () => inbox.entry(conversationId)?.unread === 0 && inbox.entry(notMissed), 'the notices missed while away, read again')
  await poster.api.postMessage(notMissed, 'after')
  await eventually(t, () => inbox.entry(notMissed)?.unread === 1, 'and followed')
  await eventually(t, () => inbox.entry(conversationId)?.unread === 0, 'nothing counted twice')
})

t.test('a conversation: the newest page, paging back, live changes, typing and receipts', async (t) => {
  const eve = await user('eve')
  const fay = await user('fay')
  const { conversationId } = await eve.api.openDirect(fay.name)
  for (let i = 1; i <= 7; i++) await eve.api.postMessage(conversationId, `m${i}`)
  const view = conversationOf(fay, conversationId, 3)
  t.notOk(view.loaded)
  await view.open()
  t.ok(view.loaded)
  t.same(view.messages.map((m) => m.text), ['m5', 'm6', 'm7'], 'the newest page')
  t.ok(view.hasOlder)
  await view.loadOlder()
  await view.loadOlder()
  t.same(view.messages.map((m) => m.text), ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7'], 'paged back to the start')
  t.notOk(view.hasOlder, 'and knows it')
  t.same(view.messages.map((m) => m.seq), [1, 2, 3, 4, 5, 6, 7])

  const eveView = conversationOf(eve, conversationId)
  await eveView.open()
  fay.typing(conversationId)
  await eventually(t, () => eveView.typingUsers.includes(fay.name), 'fay typing, on eve’s side')
  t.same(view.typingUsers, [], 'nobody sees their own typing')
  const sent = await fay.send(conversationId, 'typed')
  await eventually(t, () => view.messages.at(-1)?.text === 'typed' && eveView.typingUsers.length === 0, 'the message ends the indicator')

  await fay.api.editMessage(conversationId, sent.seq, 'typed, edited')
  await eve.api.deleteMessage(conversationId, 2)
  await eventually(t, () => view.messages.find((m) => m.seq === sent.seq)?.edited && !view.messages.some((m) => m.seq === 2), 'edit and delete')
  t.equal(view.messages.find((m) => m.seq === sent.seq)?.text, 'typed, edited')

  t.equal(eveView.receiptSeq, undefined, 'no receipt yet')
  await fay.markRead(conversationId, sent.seq)
  await eventually(t, () => eveView.receiptSeq === sent.seq, 'the receipt of fay’s read')
  t.equal(view.receiptSeq, undefined, 'one’s own read is no receipt')
})

t.test('a conversation misses nothing posted between its page and its subscription; closing it leaves the inbox following', async (t) => {
  const gus = await user('gus')
  let conversationId = 0
  let racing = false
  const hal = await user('hal', {
    afterRead: async (path) => {
      if (!racing || path !== `/api/conversations/${conversationId}`) return
      racing = false
      await gus.api.postMessage(conversationId, 'in between')
    },
  })
  conversationId = await gus.api.createConversation({ title: 'shared', kind: 'private', members: [hal.name] })
  await gus.api.postMessage(conversationId, 'first')
  racing = true
  const view = conversationOf(hal, conversationId)
  await view.open()
  await eventually(t, () => view.messages.length === 2, 'the message posted in between')
  t.same(view.messages.map((m) => m.text), ['first', 'in between'])

  const inbox = inboxOf(hal)
  await inbox.load()
  await gus.api.postMessage(conversationId, 'with both open')
  await eventually(t, () => view.messages.length === 3 && inbox.entry(conversationId)?.unread === 3, 'both see it, the inbox counts it once')

  view.close()
  t.ok(hal.subscribed.includes(conversationId), 'the inbox still follows it')
  await gus.api.postMessage(conversationId, 'after the view closed')
  await eventually(t, () => inbox.entry(conversationId)?.unread === 4, 'and still counts')

  const outsider = await user('outsider')
  const refused = conversationOf(outsider, conversationId)
  const error = await refused.open().catch((err: unknown) => err)
  t.match(error, { status: 404 }, 'a conversation the user may not read is a 404')
})

t.test('logging out is not told as a session that ended elsewhere', async (t) => {
  const servers = node.app.websocketServer.clients
  let own: Set<unknown> | undefined
  const client = sdkClient(t, [node.url], {
    // The logout's answer is held until the node has closed the session's socket, so that its
    // close (4001) reaches the client before logout() returns, as it may on any network.
    fetch: async (input, init) => {
      const response = await fetch(input, init)
      if (own && new URL(String(input)).pathname === '/auth/logout') {
        await until(() => [...own!].every((socket) => !servers.has(socket as never)), 'the node closing the session’s socket')
        await new Promise((resolve) => setImmediate(resolve))
      }
      return response
    },
  })
  await client.register(newUsername('leaver'))
  const before = new Set(servers)
  await client.connect()
  own = new Set([...servers].filter((socket) => !before.has(socket)))
  t.equal(own.size, 1, 'the socket, on the node')
  const ended: string[] = []
  client.on('session.ended', ({ reason }) => ended.push(reason))
  await client.logout()
  t.same(ended, [], 'no session.ended: the user logged out here')
  t.equal(client.user, null, 'and nobody is signed in')
})
