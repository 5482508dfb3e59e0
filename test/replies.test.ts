import t from 'tap'
import { startCluster } from './helpers/cluster.js'
import { newUsername, postMessage, register, request } from './helpers/http-client.js'
import { TestSocket } from './helpers/ws-client.js'

/** Replies across 3 real nodes: posting one (REST and socket), its quote in every view, the replies route, and every bad replyTo. */

const nodes = await startCluster(t, 'replies', 3)
const [a, b, c] = nodes.map((n) => n.url) as [string, string, string]
const idOf = (url: string) => Number(url.split('/').pop())

async function conversation(node: string, cookie: string, body: Record<string, unknown>): Promise<number> {
  const res = await request(node, 'POST', '/api/conversations', { cookie, body })
  if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`)
  return idOf(res.body.url)
}

const reply = (node: string, cookie: string, id: number, text: string, replyTo: unknown) =>
  request(node, 'POST', `/api/conversations/${id}`, { cookie, body: { text, replyTo } })

t.test('a reply over REST and over a socket carries a quote of the original, on every node', async (t) => {
  const ann = await register(a, newUsername('ann'))
  const ben = await register(b, newUsername('ben'))
  const id = await conversation(a, ann.cookie, { title: 'threads' })
  const long = 'x'.repeat(99) + 'é🙂' + 'tail'
  const original = await postMessage(a, ann.cookie, id, long)
  const watchers = await Promise.all([a, b, c].map((node) => TestSocket.connect(node, ben.cookie)))
  t.teardown(() => watchers.forEach((w) => w.close()))
  for (const w of watchers) await w.call({ type: 'subscribe', id: 's', conversationId: id })

  const quote = { seq: 1, url: original.body.url, user: ann.username, text: 'x'.repeat(99) + 'é…' }
  const first = await reply(b, ben.cookie, id, 'over REST', 1)
  t.equal(first.status, 201)
  const socket = await TestSocket.connect(c, ben.cookie)
  t.teardown(() => socket.close())
  const ack = await socket.call({ type: 'send', id: 'r-1', conversationId: id, text: 'over the socket', replyTo: 1 })
  t.match(ack, { type: 'ack', seq: 3, message: { text: 'over the socket', replyTo: quote } })
  for (const w of watchers) {
    const events = await w.waitForEvents(2)
    t.same(events.map((e) => [e.seq, e.message.text, e.message.replyTo]), [[2, 'over REST', quote], [3, 'over the socket', quote]], 'live events quote the original, cut to 100 code points')
  }
  const again = await socket.call({ type: 'send', id: 'r-1', conversationId: id, text: 'over the socket', replyTo: 1 })
  t.same(again.seq, 3, 'a retry with the same id acknowledges the original reply')

  t.same((await request(c, 'GET', first.body.url, { cookie: ann.cookie })).body.replyTo, quote, 'GET of the reply')
  const listed = (await request(a, 'GET', `/api/conversations/${id}`, { cookie: ann.cookie })).body.messages
  t.same(listed.map((m: any) => m.replyTo ?? null), [null, quote, quote], 'the listing; a message that replies to nothing has no replyTo')
  t.notOk('replyTo' in listed[0])
  const short = await postMessage(b, ann.cookie, id, 'short')
  t.same((await reply(c, ben.cookie, id, 're: short', idOf(short.body.url))).status, 201)
  t.same(
    (await request(a, 'GET', `/api/conversations/${id}?N=1`, { cookie: ben.cookie })).body.messages[0].replyTo,
    { seq: 4, url: short.body.url, user: ann.username, text: 'short' },
    'a text of 100 code points or fewer is quoted whole',
  )
})

t.test('a deleted or edited original shows as it is now in views read after, and on resume', async (t) => {
  const ann = await register(a, newUsername('ann'))
  const ben = await register(c, newUsername('ben'))
  const id = await conversation(a, ann.cookie, { title: 'changes', kind: 'private', members: [ben.username] })
  // seq 1: ben added; 2 and 3: originals; 4 and 5: replies.
  const doomed = await postMessage(a, ann.cookie, id, 'to be deleted')
  const changing = await postMessage(a, ann.cookie, id, 'first version')
  const r1 = await reply(b, ben.cookie, id, 'about the doomed one', 2)
  const r2 = await reply(c, ben.cookie, id, 'about the changing one', 3)
  const live = await TestSocket.connect(b, ben.cookie)
  t.teardown(() => live.close())
  await live.call({ type: 'subscribe', id: 's', conversationId: id })

  t.equal((await request(c, 'DELETE', doomed.body.url, { cookie: ann.cookie })).status, 200)
  t.equal((await request(a, 'PATCH', changing.body.url, { cookie: ann.cookie, body: { text: 'second version' } })).status, 200)
  const [deleted, edited] = await live.waitForEvents(2)
  t.match(deleted, { type: 'message.deleted', messageSeq: 2 }, 'live clients learn of the delete by its event')
  t.match(edited, { type: 'message.edited', messageSeq: 3, text: 'second version' }, 'and of the edit')

  const deletedQuote = { seq: 2, url: doomed.body.url, user: ann.username, text: '', deleted: true }
  const editedQuote = { seq: 3, url: changing.body.url, user: ann.username, text: 'second version' }
  t.same((await request(a, 'GET', r1.body.url, { cookie: ann.cookie })).body.replyTo, deletedQuote, 'REST: the original shows as deleted')
  t.same((await request(b, 'GET', r2.body.url, { cookie: ann.cookie })).body.replyTo, editedQuote, 'REST: the original as edited')

  const resumed = await TestSocket.connect(c, ben.cookie)
  t.teardown(() => resumed.close())
  await resumed.call({ type: 'subscribe', id: 'r', conversationId: id, afterSeq: 3 })
  const replay = await resumed.waitForEvents(4)
  t.same(
    replay.map((e) => [e.seq, e.type, e.message?.replyTo ?? null]),
    [
      [4, 'message.created', deletedQuote],
      [5, 'message.created', editedQuote],
      [6, 'message.deleted', null],
      [7, 'message.edited', null],
    ],
    'a resume replays the replies with their quotes as they are now',
  )
  t.equal(
    (await reply(a, ben.cookie, id, 'too late', 2)).body.message,
    'replyTo is a deleted message',
    'nobody replies to a deleted message',
  )
})

t.test('every bad replyTo is refused with a clear 400 (or an error frame), and nothing is stored', async (t) => {
  const ann = await register(a, newUsername('ann'))
  const outsider = await register(b, newUsername('outsider'))
  const id = await conversation(a, ann.cookie, { title: 'strict', kind: 'private', members: [outsider.username] })
  // seq 1: member added; 2: a message; 3: its edit; 4: another message; 5: its delete.
  await postMessage(a, ann.cookie, id, 'kept')
  await request(a, 'PATCH', `/api/conversations/${id}/2`, { cookie: ann.cookie, body: { text: 'kept, edited' } })
  await postMessage(a, ann.cookie, id, 'gone')
  await request(a, 'DELETE', `/api/conversations/${id}/4`, { cookie: ann.cookie })
  const other = await conversation(b, ann.cookie, { title: 'elsewhere' })
  for (let i = 0; i < 9; i++) await postMessage(b, ann.cookie, other, `elsewhere ${i}`)

  const notHere = 'replyTo is not a message of this conversation'
  const cases: [unknown, number, string | RegExp][] = [
    [1, 400, notHere], // a member.added event
    [3, 400, notHere], // an edit event
    [5, 400, notHere], // a delete event
    [4, 400, 'replyTo is a deleted message'],
    [6, 400, notHere], // the future: the next seq
    [9, 400, notHere], // a seq that is a message in the other conversation only
    [2 ** 40, 400, notHere],
    [0, 400, /replyTo/],
    [-2, 400, /replyTo/],
    [1.5, 400, /replyTo/],
    ['2', 400, /replyTo/],
    [null, 400, /replyTo/],
    [Number.MAX_SAFE_INTEGER + 2, 400, /replyTo/],
  ]
  for (const [replyTo, status, message] of cases) {
    const res = await reply(c, ann.cookie, id, 'reply', replyTo)
    t.equal(res.status, status, `replyTo ${JSON.stringify(replyTo)}`)
    t.match(res.body, { status: 'invalid request', message }, `replyTo ${JSON.stringify(replyTo)}: ${JSON.stringify(res.body)}`)
  }
  t.equal((await reply(c, ann.cookie, id, '', 2)).status, 400, 'bad text with a good replyTo')
  const stranger = await register(c, newUsername('stranger'))
  t.equal((await reply(c, stranger.cookie, id, 'hello', 2)).status, 404, 'a conversation the author cannot read: 404 whatever replyTo is')
  t.equal((await reply(c, stranger.cookie, id, 'hello', 999)).status, 404, 'also for a seq that does not exist')

  const socket = await TestSocket.connect(b, ann.cookie)
  t.teardown(() => socket.close())
  t.match(await socket.call({ type: 'send', id: 'f', conversationId: id, text: 'x', replyTo: 6 }), { type: 'error', code: 'invalid', message: notHere })
  t.match(await socket.call({ type: 'send', id: 'd', conversationId: id, text: 'x', replyTo: 4 }), { type: 'error', code: 'invalid', message: 'replyTo is a deleted message' })
  t.match(await socket.call({ type: 'send', id: 'z', conversationId: id, text: 'x', replyTo: 0 }), { type: 'error', code: 'bad_frame' })
  t.match(await socket.call({ type: 'send', id: 's', conversationId: id, text: 'x', replyTo: 'two' }), { type: 'error', code: 'bad_frame' })

  const listed = (await request(a, 'GET', `/api/conversations/${id}`, { cookie: ann.cookie })).body.messages
  t.same(listed.map((m: any) => m.text), ['kept, edited'], 'nothing refused was stored')
  t.equal((await postMessage(a, ann.cookie, id, 'still numbered without a gap')).body.url, `/api/conversations/${id}/6`)
})

t.test('the replies to a message, paged; who may read them', async (t) => {
  const ann = await register(a, newUsername('ann'))
  const ben = await register(b, newUsername('ben'))
  const id = await conversation(a, ann.cookie, { title: 'public thread', kind: 'public' })
  await postMessage(a, ann.cookie, id, 'topic') // seq 1
  await postMessage(a, ann.cookie, id, 'unrelated') // seq 2
  for (let i = 0; i < 5; i++) await reply([a, b, c][i % 3] as string, ann.cookie, id, `answer ${i}`, 1) // seqs 3..7
  await reply(a, ann.cookie, id, 'about unrelated', 2) // seq 8
  await request(b, 'DELETE', `/api/conversations/${id}/5`, { cookie: ann.cookie }) // answer 2 goes

  const replies = (node: string, query = '', cookie = ben.cookie) => request(node, 'GET', `/api/conversations/${id}/1/replies${query}`, { cookie })
  const all = await replies(c)
  t.equal(all.status, 200)
  t.same(all.body.replies.map((m: any) => [m.text, m.replyTo.seq]), [['answer 0', 1], ['answer 1', 1], ['answer 3', 1], ['answer 4', 1]], 'live replies, oldest first')
  t.equal(all.body.next, null)
  const first = await replies(a, '?limit=2')
  t.same(first.body.replies.map((m: any) => m.text), ['answer 0', 'answer 1'])
  t.equal(first.body.next, '4')
  const second = await replies(b, `?limit=2&after=${first.body.next}`)
  t.same(second.body.replies.map((m: any) => m.text), ['answer 3', 'answer 4'])
  t.equal(second.body.next, null, 'a full last page ends with null')
  t.same((await replies(a, '', '')).body.replies.length, 4, 'a public conversation needs no login')
  t.same((await request(a, 'GET', `/api/conversations/${id}/3/replies`, { cookie: ben.cookie })).body, { replies: [], next: null }, 'a message with no replies')

  await request(a, 'DELETE', `/api/conversations/${id}/1`, { cookie: ann.cookie })
  t.same((await replies(a)).body.replies.length, 4, 'the replies to a deleted message stay listed')
  for (const bad of ['?limit=0', '?limit=101', '?limit=x', '?after=-1', '?after=x'])
    t.equal((await replies(a, bad)).status, 400, bad)
  for (const path of [`/api/conversations/${id}/99/replies`, `/api/conversations/${id}/9/replies`, `/api/conversations/${id}/abc/replies`, '/api/conversations/999999/1/replies'])
    t.equal((await request(b, 'GET', path, { cookie: ben.cookie })).status, 404, path)

  const secret = await conversation(a, ann.cookie, { title: 'secret', kind: 'private' })
  await postMessage(a, ann.cookie, secret, 'hidden')
  t.equal((await request(c, 'GET', `/api/conversations/${secret}/1/replies`, { cookie: ben.cookie })).status, 404, 'a private conversation of others')
  t.equal((await request(c, 'GET', `/api/conversations/${secret}/1/replies`)).status, 401, 'not logged in, not public')
})

t.test('replies racing the delete of their original: each one is numbered before the delete, or refused', async (t) => {
  const ann = await register(a, newUsername('ann'))
  const ben = await register(b, newUsername('ben'))
  const id = await conversation(a, ann.cookie, { title: 'race' })
  const original = await postMessage(a, ann.cookie, id, 'soon gone')
  const nodesOf = [a, b, c]
  // Plain posts among them share the replies' statements: a batch may mix both.
  const plain = Array.from({ length: 9 }, (_, i) => postMessage(nodesOf[i % 3] as string, ann.cookie, id, `plain ${i}`))
  const [deleted, ...replies] = await Promise.all([
    request(c, 'DELETE', original.body.url, { cookie: ann.cookie }),
    ...Array.from({ length: 20 }, (_, i) => reply(nodesOf[i % 3] as string, ben.cookie, id, `racing ${i}`, 1)),
  ])
  t.equal(deleted?.status, 200)
  t.same((await Promise.all(plain)).map((res) => res.status), Array(9).fill(201), 'every plain post stored')
  const log = await TestSocket.connect(a, ben.cookie)
  t.teardown(() => log.close())
  const subscribed = await log.call({ type: 'subscribe', id: 's', conversationId: id, afterSeq: 0 })
  // The backfill comes before the reply to subscribe.
  const events = log.events
  t.equal(events.length, subscribed.lastSeq)
  const tombstone = events.find((e) => e.type === 'message.deleted')?.seq
  for (const res of replies) {
    if (res.status === 201) t.ok(idOf(res.body.url) < tombstone, `reply ${res.body.url} was numbered before the delete (${tombstone})`)
    else t.same([res.status, res.body.message], [400, 'replyTo is a deleted message'], 'a reply after the delete is refused')
  }
  t.equal(events.length, 2 + 9 + replies.filter((r) => r.status === 201).length, 'every event: the original, the plain posts, the accepted replies, the delete')
  t.ok(events.filter((e) => e.message?.text.startsWith('plain')).every((e) => !('replyTo' in e.message)), 'plain posts reply to nothing')
})
