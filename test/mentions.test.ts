import t from 'tap'
import { findMentions, mentionedNames } from '../src/protocol/mentions.js'
import { MENTIONS_MAX } from '../src/protocol/limits.js'
import { startCluster } from './helpers/cluster.js'
import { login, newUsername, postMessage, register, request } from './helpers/http-client.js'
import { TestSocket } from './helpers/ws-client.js'

/**
 * Mentions across 3 real nodes: a post on one node tells the mentioned users' devices on the others,
 * the inbox counts unread mentions until the read marker passes them, and mentions that may not
 * notify (no access, blocks, oneself, unknown names) do nothing at all.
 */

t.test('the token rule', async (t) => {
  t.same(mentionedNames('@ann hi @Bob, (@carol) and @dave.'), ['ann', 'bob', 'carol', 'dave'], 'start, after space or punctuation; trailing punctuation is not the name')
  t.same(mentionedNames('mail bob@example.com or x@ann; @@ann; _@ann'), [], 'not after a character of a name, nor after @')
  t.same(mentionedNames('@ab @' + 'a'.repeat(33) + ' @_ann @.ann'), [], 'a name is 3 to 32 characters starting with a letter or digit')
  t.same(mentionedNames('@ann.lee-x @ANN.LEE-X @a_b'), ['ann.lee-x', 'a_b'], 'dots, hyphens and underscores inside; case does not matter')
  t.same(mentionedNames(Array.from({ length: 30 }, (_, i) => `@user${i}`).join(' ')).length, MENTIONS_MAX, `at most ${MENTIONS_MAX} names`)
  t.same(findMentions('hé @ann!'), [{ index: 3, length: 4, name: 'ann' }], 'spans, as string indexes, for highlighting')
})

const nodes = await startCluster(t, 'mentions', 3)
const [a, b, c] = nodes.map((n) => n.url) as [string, string, string]
const PASSWORD = 'correct horse battery'
const idOf = (url: string) => Number(url.split('/').pop())

async function conversation(node: string, cookie: string, body: Record<string, unknown>): Promise<number> {
  const res = await request(node, 'POST', '/api/conversations', { cookie, body })
  if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`)
  return idOf(res.body.url)
}

const inboxEntry = async (node: string, cookie: string, id: number) =>
  (await request(node, 'GET', '/api/inbox', { cookie })).body.conversations.find((entry: any) => entry.id === id)

const mentionFrames = (socket: TestSocket) => socket.frames.filter((f) => f.type === 'mention')

t.test('a mention tells every device of the mentioned users, on every node; the inbox counts it until read', async (t) => {
  const ann = await register(a, newUsername('ann'))
  const ben = await register(b, newUsername('ben'), PASSWORD)
  const cat = await register(c, newUsername('cat'))
  const dan = await register(c, newUsername('dan'))
  const id = await conversation(a, ann.cookie, { title: 'team', kind: 'private', members: [ben.username, cat.username] })
  const benPhone = await login(c, ben.username, PASSWORD)
  const benDevices = [await TestSocket.connect(b, ben.cookie), await TestSocket.connect(c, benPhone)]
  const catDevice = await TestSocket.connect(c, cat.cookie)
  const danDevice = await TestSocket.connect(b, dan.cookie)
  const annDevice = await TestSocket.connect(a, ann.cookie)
  t.teardown(() => [...benDevices, catDevice, danDevice, annDevice].forEach((s) => s.close()))

  const text = `hey @${ben.username.toUpperCase()} and @${cat.username}, not @${dan.username} nor @${ann.username} nor @nobody-at-all; @${ben.username} twice. Please read the whole thread before the meeting tomorrow.`
  const posted = await postMessage(a, ann.cookie, id, text)
  t.equal(posted.status, 201)
  const seq = idOf(posted.body.url)
  t.ok(text.length > 100)
  const notice = { type: 'mention', conversationId: id, seq, url: posted.body.url, by: ann.username, text: `${text.slice(0, 100)}…` }
  for (const device of [...benDevices, catDevice]) t.same(await device.waitFor((f) => f.type === 'mention', 'mention'), notice, 'the notice quotes the message as a reply does')

  // A later mention that dan and ann may be told of shows they got nothing from the first.
  const open = await conversation(b, ben.cookie, { title: 'open' })
  const marker = await postMessage(b, ben.cookie, open, `@${dan.username} @${ann.username} look`)
  for (const device of [danDevice, annDevice]) {
    await device.waitFor((f) => f.type === 'mention', 'the later mention')
    t.same(mentionFrames(device).map((f) => f.url), [marker.body.url], 'no mention from a conversation they cannot read, nor of oneself')
  }
  t.equal(mentionFrames(benDevices[0] as TestSocket).length, 1, 'one notice per message however often the name appears')

  await postMessage(c, cat.cookie, id, `thanks @${ben.username}`)
  await postMessage(c, cat.cookie, id, 'no mention here')
  t.match(await inboxEntry(a, ben.cookie, id), { unread: 3, mentions: 2 }, "the inbox counts unread mentions beside unread messages")
  t.match(await inboxEntry(b, cat.cookie, id), { unread: 1, mentions: 1 })
  t.match(await inboxEntry(c, ann.cookie, id), { unread: 2, mentions: 0 }, 'never one of one\'s own messages')

  const read = await request(b, 'POST', `/api/conversations/${id}/read`, { cookie: ben.cookie, body: { seq } })
  t.same(read.body, { status: 'success', seq, unread: 2, mentions: 1 }, 'the read marker passes the first mention')
  for (const device of benDevices) t.same(await device.waitFor((f) => f.type === 'read', 'read'), { type: 'read', conversationId: id, seq, unread: 2, mentions: 1 })
  await request(c, 'POST', `/api/conversations/${id}/read`, { cookie: benPhone, body: { seq: seq + 2 } })
  t.match(await inboxEntry(a, ben.cookie, id), { unread: 0, mentions: 0 }, 'and then the second')
})

t.test('open and direct conversations: whoever may read is told; blocks silence mentions both ways', async (t) => {
  const ann = await register(a, newUsername('ann'))
  const ben = await register(b, newUsername('ben'))
  const eve = await register(c, newUsername('eve'))
  const benDevice = await TestSocket.connect(c, ben.cookie)
  const eveDevice = await TestSocket.connect(a, eve.cookie)
  t.teardown(() => [benDevice, eveDevice].forEach((s) => s.close()))

  const open = await conversation(a, ann.cookie, { title: 'lobby' })
  const inOpen = await postMessage(a, ann.cookie, open, `@${ben.username} welcome`)
  t.match(await benDevice.waitFor((f) => f.type === 'mention', 'mention in an open conversation'), { url: inOpen.body.url }, 'a non-member of an open conversation may read it, so is told')
  t.equal(await inboxEntry(a, ben.cookie, open), undefined, 'but has no inbox entry there to count it')

  const direct = idOf((await request(b, 'POST', `/api/direct/${ann.username}`, { cookie: ben.cookie })).body.url)
  const inDirect = await postMessage(a, ann.cookie, direct, `@${ben.username} psst`)
  await benDevice.waitFor((f) => f.url === inDirect.body.url, 'mention in a direct conversation')
  t.match(await inboxEntry(b, ben.cookie, direct), { mentions: 1 })

  t.equal((await request(b, 'POST', '/api/blocks', { cookie: ben.cookie, body: { username: eve.username } })).status, 201)
  const fromBlocked = await postMessage(c, eve.cookie, open, `@${ben.username} hello?`)
  t.equal(fromBlocked.status, 201, 'the post itself goes through')
  const toBlocked = await postMessage(b, ben.cookie, open, `@${eve.username} go away`)
  const after = await postMessage(a, ann.cookie, open, `@${ben.username} @${eve.username} still here`)
  await benDevice.waitFor((f) => f.url === after.body.url, 'the later mention')
  await eveDevice.waitFor((f) => f.url === after.body.url, 'the later mention')
  t.notOk(mentionFrames(benDevice).some((f) => f.url === fromBlocked.body.url), "a blocked user's mention does not notify")
  t.notOk(mentionFrames(eveDevice).some((f) => f.url === toBlocked.body.url), "nor does the blocker's mention of the user they blocked")
})

t.test('edits tell those newly mentioned and drop the mentions they take out; deletes drop theirs', async (t) => {
  const ann = await register(a, newUsername('ann'))
  const ben = await register(b, newUsername('ben'))
  const cat = await register(c, newUsername('cat'))
  const id = await conversation(a, ann.cookie, { title: 'edits', kind: 'private', members: [ben.username, cat.username] })
  const benDevice = await TestSocket.connect(c, ben.cookie)
  const catDevice = await TestSocket.connect(b, cat.cookie)
  t.teardown(() => [benDevice, catDevice].forEach((s) => s.close()))

  const posted = await postMessage(a, ann.cookie, id, `@${ben.username} look`)
  await benDevice.waitFor((f) => f.type === 'mention', 'the first mention')
  const edited = await request(b, 'PATCH', posted.body.url, { cookie: ann.cookie, body: { text: `@${cat.username} look, @${ben.username}` } })
  t.equal(edited.status, 200)
  const toCat = await catDevice.waitFor((f) => f.type === 'mention', 'mention by the edit')
  t.match(toCat, { url: posted.body.url, by: ann.username, text: `@${cat.username} look, @${ben.username}` }, 'the newly mentioned user is told')
  const again = await request(c, 'PATCH', posted.body.url, { cookie: ann.cookie, body: { text: `only @${cat.username} now` } })
  t.equal(again.status, 200)
  const marker = await postMessage(a, ann.cookie, id, `@${ben.username} and @${cat.username} again`)
  await benDevice.waitFor((f) => f.url === marker.body.url, 'the later mention')
  await catDevice.waitFor((f) => f.url === marker.body.url, 'the later mention')
  t.equal(mentionFrames(benDevice).length, 2, 'someone mentioned already is not told again by an edit')
  t.equal(mentionFrames(catDevice).length, 2, 'nor is someone still mentioned')
  t.match(await inboxEntry(a, ben.cookie, id), { mentions: 1 }, 'the edit that took ben out took his mention out of the count')
  t.match(await inboxEntry(a, cat.cookie, id), { mentions: 2 })

  t.equal((await request(a, 'DELETE', posted.body.url, { cookie: ann.cookie })).status, 200)
  t.match(await inboxEntry(b, cat.cookie, id), { mentions: 1 }, 'a deleted message mentions nobody')
})

t.test('mentions over the socket, and bad input gets nowhere', async (t) => {
  const ann = await register(a, newUsername('ann'))
  const ben = await register(b, newUsername('ben'))
  const id = await conversation(a, ann.cookie, { title: 'sockets', kind: 'private', members: [ben.username] })
  const annSocket = await TestSocket.connect(a, ann.cookie)
  const benDevice = await TestSocket.connect(c, ben.cookie)
  t.teardown(() => [annSocket, benDevice].forEach((s) => s.close()))
  const ack = await annSocket.call({ type: 'send', id: 'm1', conversationId: id, text: `@${ben.username}!` })
  t.match(await benDevice.waitFor((f) => f.type === 'mention', 'mention'), { seq: ack.seq, by: ann.username })
  await annSocket.call({ type: 'send', id: 'm1', conversationId: id, text: `@${ben.username}!` })
  const many = Array.from({ length: 50 }, (_, i) => `@${ben.username}${i}`).join(' ') + ` @${'x'.repeat(4000 - 1)}`
  const long = await postMessage(b, ann.cookie, id, many.slice(0, 4000))
  t.equal(long.status, 201, 'a text full of names that exist nowhere')
  const last = await postMessage(b, ann.cookie, id, `@${ben.username}.`)
  await benDevice.waitFor((f) => f.url === last.body.url, 'the last mention')
  t.equal(mentionFrames(benDevice).length, 2, 'a retried send tells nobody again')
  t.match(await inboxEntry(c, ben.cookie, id), { mentions: 2 })
})
