import t from 'tap'
import { startCluster } from './helpers/cluster.js'
import { newUsername, postMessage, register, request } from './helpers/http-client.js'
import { startNode } from './helpers/in-process.js'
import { queryRows } from './helpers/sql.js'
import { TestSocket } from './helpers/ws-client.js'

/**
 * Emoji reactions across three real nodes: live to every device on every node, replayed on resume,
 * aggregated in message views with `me` for the reader; idempotence, the limits, who may react, bad
 * input, and concurrent reactions from several nodes.
 */

const nodes = await startCluster(t, 'reactions', 3)
const [a, b, c] = nodes.map((n) => n.url) as [string, string, string]
const idOf = (url: string) => Number(url.split('/').pop())
const reactionsUrl = (messageUrl: string) => `${messageUrl}/reactions`
const react = (node: string, cookie: string | undefined, messageUrl: string, emoji: unknown) =>
  request(node, 'POST', reactionsUrl(messageUrl), { cookie, body: { emoji } })
const unreact = (node: string, cookie: string | undefined, messageUrl: string, emoji: string) =>
  request(node, 'DELETE', `${reactionsUrl(messageUrl)}/${encodeURIComponent(emoji)}`, { cookie })

async function conversation(node: string, cookie: string, kind = 'open', members: string[] = []): Promise<{ id: number; url: string }> {
  const { body } = await request(node, 'POST', '/api/conversations', { cookie, body: { title: `reactions ${kind}`, kind, members } })
  return { id: idOf(body.url), url: body.url }
}

async function subscribed(node: string, cookie: string, conversationId: number, afterSeq?: number): Promise<TestSocket> {
  const socket = await TestSocket.connect(node, cookie)
  t.teardown(() => socket.close())
  await socket.call({ type: 'subscribe', id: 's', conversationId, ...(afterSeq === undefined ? {} : { afterSeq }) })
  return socket
}

/** The conversation's last seq, as a post after everything else learns it. */
async function lastSeqBy(node: string, cookie: string, conversationId: number): Promise<number> {
  const posted = await postMessage(node, cookie, conversationId, 'probe')
  return idOf(posted.body.url) - 1
}

/** The reaction rows Postgres holds for a conversation. */
const storedReactions = (conversationId: number) =>
  queryRows(nodes.databaseUrl, 'SELECT message_seq, emoji FROM reactions WHERE conversation_id = $1 ORDER BY message_seq, emoji', [conversationId])

t.test('a reaction on node A reaches devices on B and C, shows in views with me, and is replayed on resume', async (t) => {
  const alice = await register(a, newUsername('alice'))
  const bob = await register(b, newUsername('bob'))
  const { id } = await conversation(a, alice.cookie)
  const { body: message } = await postMessage(a, alice.cookie, id, 'react to me')
  const devices = [await subscribed(b, bob.cookie, id), await subscribed(c, bob.cookie, id)]

  const first = await react(a, alice.cookie, message.url, '👍')
  t.same([first.status, first.body], [201, { status: 'success', changed: true, reactions: [{ emoji: '👍', count: 1, me: true }] }])
  const added = { type: 'reaction.added', conversationId: id, seq: 2, messageSeq: 1, url: message.url, emoji: '👍', user: alice.username, count: 1 }
  for (const device of devices) t.same((await device.waitForEvents(1))[0], added, 'each of bob\'s devices gets it, on B and on C')

  t.equal((await react(b, bob.cookie, message.url, '👍')).status, 201)
  const second = await react(c, bob.cookie, message.url, '👨‍👩‍👧‍👦')
  t.same(second.body.reactions, [{ emoji: '👍', count: 2, me: true }, { emoji: '👨‍👩‍👧‍👦', count: 1, me: true }], 'the reply is the message\'s reactions as the reactor sees them')
  for (const device of devices) {
    const events = await device.waitForEvents(3)
    t.same(events.slice(1).map((e) => [e.type, e.seq, e.emoji, e.user, e.count]), [
      ['reaction.added', 3, '👍', bob.username, 2],
      ['reaction.added', 4, '👨‍👩‍👧‍👦', bob.username, 1],
    ])
  }

  const asAlice = await request(c, 'GET', `/api/conversations/${id}`, { cookie: alice.cookie })
  t.same(asAlice.body.messages[0].reactions, [{ emoji: '👍', count: 2, me: true }, { emoji: '👨‍👩‍👧‍👦', count: 1, me: false }], 'a page read, as alice')
  const asBob = await request(a, 'GET', message.url, { cookie: bob.cookie })
  t.same(asBob.body.reactions, [{ emoji: '👍', count: 2, me: true }, { emoji: '👨‍👩‍👧‍👦', count: 1, me: true }], 'one message read, as bob')
  t.same(Object.keys(asBob.body).sort(), ['edited', 'reactions', 'text', 'timestamp', 'url', 'user'])

  const again = await react(b, alice.cookie, message.url, '👍')
  t.same([again.status, again.body.changed, again.body.reactions[0]], [200, false, { emoji: '👍', count: 2, me: true }], 'reacting twice changes nothing')
  const notThere = await unreact(c, alice.cookie, message.url, '👨‍👩‍👧‍👦')
  t.same([notThere.status, notThere.body.changed], [200, false], 'taking back a reaction one never made changes nothing')
  const removed = await unreact(c, alice.cookie, message.url, '👍')
  t.same([removed.status, removed.body], [200, { status: 'success', changed: true, reactions: [{ emoji: '👍', count: 1, me: false }, { emoji: '👨‍👩‍👧‍👦', count: 1, me: false }] }])
  t.equal((await unreact(a, bob.cookie, message.url, '👨‍👩‍👧‍👦')).body.reactions.length, 1, 'the last one taken back leaves no entry')
  const probe = await postMessage(a, alice.cookie, id, 'after')
  t.equal(idOf(probe.body.url), 7, 'the no-ops took no seq')
  for (const device of devices) {
    const events = await device.waitForEvents(6)
    t.same(events.slice(3).map((e) => [e.type, e.seq, e.emoji, e.user, e.count]), [
      ['reaction.removed', 5, '👍', alice.username, 1],
      ['reaction.removed', 6, '👨‍👩‍👧‍👦', bob.username, 0],
      ['message.created', 7, undefined, undefined, undefined],
    ], 'no event for the no-ops')
  }

  const live = devices[0]!.events.slice(0, 6)
  const resumed = await subscribed(c, bob.cookie, id, 0)
  const replay = await resumed.waitForEvents(7)
  t.same(replay.slice(1, 7), live, 'a resume from 0 replays every reaction event as it was sent live')
  t.same(replay[0].message, { user: alice.username, text: 'react to me', timestamp: replay[0].message.timestamp, url: message.url, edited: null }, 'message.created carries no reactions: they follow as events')
  const backfill = await subscribed(a, alice.cookie, id, 4)
  t.same(await backfill.waitForEvents(3), live.slice(3), 'a backfill from seq 4 too')
})

t.test('views: counts from many users, me for each reader, none logged in, pages, edits and replies', async (t) => {
  const owner = await register(a, newUsername('owner'))
  const fans = await Promise.all([b, c, a].map((node) => register(node, newUsername('fan'))))
  const { id } = await conversation(a, owner.cookie, 'public', fans.map((f) => f.username))
  const urls = []
  for (const text of ['one', 'two', 'three']) urls.push((await postMessage(a, owner.cookie, id, text)).body.url)
  for (const [i, fan] of fans.entries()) await react([a, b, c][i] as string, fan.cookie, urls[1] as string, '🎉')
  await react(b, owner.cookie, urls[2] as string, '🇫🇷')
  const anonymous = await request(c, 'GET', `/api/conversations/${id}?before=${idOf(urls[2] as string) + 1}&limit=2`)
  t.same(anonymous.body.messages.map((m: any) => m.reactions), [[{ emoji: '🎉', count: 3, me: false }], [{ emoji: '🇫🇷', count: 1, me: false }]], 'no login: counts, and me false')
  const asFan = await request(b, 'GET', `/api/conversations/${id}?after=0`, { cookie: fans[0]!.cookie })
  t.same(asFan.body.messages.map((m: any) => m.reactions), [[], [{ emoji: '🎉', count: 3, me: true }], [{ emoji: '🇫🇷', count: 1, me: false }]])
  const edited = await request(c, 'PATCH', urls[1] as string, { cookie: owner.cookie, body: { text: 'two!' } })
  t.same(edited.body.reactions, [{ emoji: '🎉', count: 3, me: false }], "an edit's reply keeps the reactions")
  const reply = await request(a, 'POST', `/api/conversations/${id}`, { cookie: fans[1]!.cookie, body: { text: 'a reply', replyTo: idOf(urls[0] as string) } })
  await react(c, fans[2]!.cookie, reply.body.url, '👌')
  const replies = await request(b, 'GET', `${urls[0]}/replies`, { cookie: fans[2]!.cookie })
  t.same(replies.body.replies.map((m: any) => [m.text, m.reactions]), [['a reply', [{ emoji: '👌', count: 1, me: true }]]], 'the replies to a message, with theirs')
})

t.test('who may react: whoever may post there; blocks hold', async (t) => {
  const owner = await register(a, newUsername('owner'))
  const member = await register(b, newUsername('member'))
  const outsider = await register(c, newUsername('outsider'))
  const hidden = await conversation(a, owner.cookie, 'private', [member.username])
  const secret = (await postMessage(a, owner.cookie, hidden.id, 'members only')).body.url
  t.equal((await react(c, outsider.cookie, secret, '👍')).status, 404, 'a private conversation is not there for an outsider')
  t.equal((await unreact(c, outsider.cookie, secret, '👍')).status, 404)
  t.equal((await react(b, member.cookie, secret, '👍')).status, 201, 'a member may')
  t.equal((await react(b, undefined, secret, '👍')).status, 401, 'not logged in')

  const watched = await conversation(a, owner.cookie, 'public')
  const shown = (await postMessage(a, owner.cookie, watched.id, 'look')).body.url
  t.same(await react(b, outsider.cookie, shown, '👀').then((r) => [r.status, r.body]), [403, { status: 'unauthorised' }], 'reading a public conversation is not posting there')
  t.equal((await react(b, undefined, shown, '👀')).status, 401)

  const socket = await subscribed(c, member.cookie, hidden.id)
  t.equal((await request(a, 'DELETE', `${hidden.url}/members/${member.username}`, { cookie: owner.cookie })).status, 200)
  await socket.waitFor((f) => f.type === 'unsubscribed', 'removed')
  t.equal((await react(b, member.cookie, secret, '🙂')).status, 404, 'a removed member may not')
  t.equal((await unreact(b, member.cookie, secret, '👍')).status, 404, 'nor take their reaction back')

  const direct = await request(b, 'POST', `/api/direct/${owner.username}`, { cookie: outsider.cookie })
  const said = (await postMessage(b, outsider.cookie, idOf(direct.body.url), 'hi')).body.url
  t.equal((await react(a, owner.cookie, said, '❤️')).status, 201, 'before a block')
  t.equal((await request(a, 'POST', '/api/blocks', { cookie: owner.cookie, body: { username: outsider.username } })).status, 201)
  t.equal((await react(b, outsider.cookie, said, '👋')).status, 403, 'the blocked user may not react')
  t.equal((await react(a, owner.cookie, said, '👋')).status, 403, 'nor the blocker')
  t.equal((await unreact(a, owner.cookie, said, '❤️')).status, 403, 'nor take one back')
  await request(a, 'DELETE', `/api/blocks/${outsider.username}`, { cookie: owner.cookie })
  t.equal((await react(b, outsider.cookie, said, '👋')).status, 201, 'after unblocking')
})

t.test('deleted, unknown and non-messages: 404', async (t) => {
  const user = await register(a, newUsername('deleter'))
  const { id, url } = await conversation(a, user.cookie)
  const gone = (await postMessage(a, user.cookie, id, 'soon gone')).body.url
  await react(a, user.cookie, gone, '👍')
  await react(a, user.cookie, gone, '🎉')
  const kept = (await postMessage(a, user.cookie, id, 'stays')).body.url
  await react(a, user.cookie, kept, '👍')
  t.equal((await request(b, 'DELETE', gone, { cookie: user.cookie })).status, 200)
  t.same(await storedReactions(id), [{ message_seq: idOf(kept), emoji: '👍' }], "a deleted message's reactions are dropped with its text; others stay")
  t.equal((await react(c, user.cookie, gone, '👍')).status, 404, 'a deleted message')
  t.equal((await unreact(c, user.cookie, gone, '👍')).status, 404, 'nor take one back from it')
  for (const path of [`${url}/999`, `${url}/2`, `${url}/0`, `${url}/x`, '/api/conversations/99999999/1'])
    t.equal((await react(b, user.cookie, path, '👍')).status, 404, `${path}: no such message (seq 2 is a reaction)`)
})

t.test('bad input: a clear 400, never a 5xx', async (t) => {
  const user = await register(a, newUsername('bad'))
  const { id } = await conversation(a, user.cookie)
  const message = (await postMessage(a, user.cookie, id, 'x')).body.url
  const lastSeq = await lastSeqBy(a, user.cookie, id)
  for (const emoji of ['a', ':)', 'thumbsup', '👍👍', '👍 ', '❤', '🇫', '1', '', 'x'.repeat(1000), '👍'.repeat(1000), '\u0000', '👍\u0000', 5, null, ['👍']]) {
    const reply = await react(b, user.cookie, message, emoji)
    t.equal(reply.status, 400, `${JSON.stringify(emoji).slice(0, 20)}: 400`)
    t.type(reply.body.message, 'string')
  }
  t.equal((await request(b, 'POST', reactionsUrl(message), { cookie: user.cookie, body: {} })).status, 400, 'no emoji')
  t.equal((await request(b, 'POST', reactionsUrl(message), { cookie: user.cookie, rawBody: '{"emoji":', headers: { 'content-type': 'application/json' } })).status, 400)
  for (const emoji of ['a', '❤', '👍👍', '\u0000', 'x'.repeat(17)]) t.equal((await unreact(c, user.cookie, message, emoji)).status, 400, `DELETE ${JSON.stringify(emoji)}`)
  t.equal((await request(c, 'DELETE', `${reactionsUrl(message)}/${'x'.repeat(1000)}`, { cookie: user.cookie })).status, 404, 'a path segment over 100 characters names nothing')
  t.equal((await request(c, 'DELETE', `${reactionsUrl(message)}/%E0%A4%A`, { cookie: user.cookie })).status, 404, 'not valid URL encoding')
  t.equal(await lastSeqBy(a, user.cookie, id), lastSeq + 1, 'nothing refused took a seq')
  for (const emoji of ['❤️', '👍🏽', '🏳️‍🌈', '🏴󠁧󠁢󠁳󠁣󠁴󠁿', '#️⃣', '👩🏽‍❤️‍💋‍👨🏻', '🙂‍↔️'])
    t.equal((await react(a, user.cookie, message, emoji)).status, 201, `${emoji} is one emoji`)
})

t.test('a message carries at most 20 different emoji; those it has may still be added to', async (t) => {
  const owner = await register(a, newUsername('collector'))
  const other = await register(b, newUsername('other'))
  const { id } = await conversation(a, owner.cookie)
  const message = (await postMessage(a, owner.cookie, id, 'many')).body.url
  const emoji = [...'😀😃😄😁😆😅😂🤣😊😇🙂🙃😉😌😍🥰😘😗😙😚']
  t.equal(emoji.length, 20)
  for (const e of emoji) t.equal((await react([a, b, c][emoji.indexOf(e) % 3] as string, owner.cookie, message, e)).status, 201)
  const refused = await react(b, other.cookie, message, '🤯')
  t.same([refused.status, refused.body.message], [400, 'a message carries at most 20 different emoji; add one of those it has'])
  t.equal((await react(b, other.cookie, message, '😀')).status, 201, 'one of the 20, by someone else')
  t.equal((await unreact(a, owner.cookie, message, '😚')).status, 200)
  t.equal((await react(b, other.cookie, message, '🤯')).status, 201, 'room again once one is gone')
  const view = await request(c, 'GET', message, { cookie: other.cookie })
  t.same(view.body.reactions.map((r: any) => r.emoji), [...emoji.slice(0, 19), '🤯'], 'in the order each was first used')
  t.same(view.body.reactions[0], { emoji: '😀', count: 2, me: true })
})

t.test('users reacting at once on three nodes: every count right, each event once, in seq order', async (t) => {
  const owner = await register(a, newUsername('host'))
  const { id } = await conversation(a, owner.cookie)
  const message = (await postMessage(a, owner.cookie, id, 'race')).body.url
  const crowd = await Promise.all(Array.from({ length: 12 }, (_, i) => register([a, b, c][i % 3] as string, newUsername('racer'))))
  const watcher = await subscribed(c, owner.cookie, id)
  const replies = await Promise.all(crowd.map((user, i) => react([a, b, c][i % 3] as string, user.cookie, message, '🔥')))
  t.same(replies.map((r) => r.status), crowd.map(() => 201))
  t.same(replies.map((r) => r.body.reactions[0].count).sort((x, y) => x - y), crowd.map((_, i) => i + 1), 'each reply saw its own count')
  const events = await watcher.waitForEvents(12)
  t.same(events.map((e) => [e.seq, e.count]), crowd.map((_, i) => [i + 2, i + 1]), 'counts rise with seq')
  t.same(new Set(events.map((e) => e.user)).size, 12)

  const mixed = await Promise.all(crowd.map((user, i) => (i % 2 ? unreact : react)([a, b, c][i % 3] as string, user.cookie, message, i % 2 ? '🔥' : '💯')))
  t.same(mixed.map((r) => r.status), crowd.map((_, i) => (i % 2 ? 200 : 201)))
  const all = await watcher.waitForEvents(24)
  const fire = all.slice(12).filter((e) => e.emoji === '🔥').map((e) => e.count)
  const hundred = all.slice(12).filter((e) => e.emoji === '💯').map((e) => e.count)
  t.same([fire, hundred], [[11, 10, 9, 8, 7, 6], [1, 2, 3, 4, 5, 6]], 'taking back and adding at once')
  const view = await request(b, 'GET', message, { cookie: owner.cookie })
  t.same(view.body.reactions, [{ emoji: '🔥', count: 6, me: false }, { emoji: '💯', count: 6, me: false }])
  const replay = await subscribed(a, owner.cookie, id, 1)
  t.same(await replay.waitForEvents(24), all, 'a resume replays the same counts')
})

t.test('reactions count against the message rate limit', async (t) => {
  const node = await startNode(t, 'reaction-limit', { RATE_LIMIT_MESSAGES: '3/600' })
  const user = await register(node.url, newUsername('eager'))
  const { id } = await conversation(node.url, user.cookie)
  const message = (await postMessage(node.url, user.cookie, id, 'one')).body.url
  t.equal((await react(node.url, user.cookie, message, '👍')).status, 201)
  t.equal((await unreact(node.url, user.cookie, message, '👍')).status, 200)
  const refused = await react(node.url, user.cookie, message, '👍')
  t.equal(refused.status, 429, 'the fourth write of the window')
  t.ok(Number(refused.headers.get('retry-after')) >= 1)
  t.equal((await postMessage(node.url, user.cookie, id, 'two')).status, 429, 'posts share the limit')
})
