import t from 'tap'
import { startCluster } from './helpers/cluster.js'
import { newUsername, postMessage, register, request } from './helpers/http-client.js'
import { TestSocket } from './helpers/ws-client.js'

const nodes = await startCluster(t, 'membership', 2)
const [a, b] = nodes.map((n) => n.url) as [string, string]

async function privateConversation(ownerCookie: string, members: string[]): Promise<{ id: number; url: string }> {
  const res = await request(a, 'POST', '/api/conversations', { cookie: ownerCookie, body: { title: 'team', kind: 'private', members } })
  return { id: Number(res.body.url.split('/').pop()), url: res.body.url }
}

async function subscribed(url: string, cookie: string, conversationId: number): Promise<TestSocket> {
  const socket = await TestSocket.connect(url, cookie)
  t.teardown(() => socket.close())
  const reply = await socket.call({ type: 'subscribe', id: 'sub', conversationId, afterSeq: 0 })
  if (reply.type !== 'subscribed') throw new Error(`subscribe: ${JSON.stringify(reply)}`)
  return socket
}

/** Every frame the socket was sent before this call: the server answers a ping after them. */
async function settled(socket: TestSocket): Promise<any[]> {
  await socket.call({ type: 'ping', id: `settle${Math.random()}` })
  return socket.events
}

t.test('the owner adds and removes members; the member hears of it on every device', async (t) => {
  const owner = await register(a, newUsername('owner'))
  const carol = await register(b, newUsername('carol'))
  const { id, url } = await privateConversation(owner.cookie, [])
  const devices = [await TestSocket.connect(a, carol.cookie), await TestSocket.connect(b, carol.cookie)]
  t.teardown(() => devices.forEach((d) => d.close()))

  t.equal((await request(b, 'POST', `${url}/members`, { cookie: owner.cookie, body: { username: carol.username } })).status, 201)
  for (const device of devices) {
    const added = await device.waitFor((f) => f.type === 'conversation.added', 'conversation.added')
    t.same(added, { type: 'conversation.added', conversationId: id, url, by: owner.username })
  }
  t.equal((await request(a, 'POST', `${url}/members`, { cookie: owner.cookie, body: { username: carol.username } })).status, 200, 'adding twice changes nothing')
  const other = await register(a, newUsername('other'))
  t.equal((await request(a, 'POST', `${url}/members`, { cookie: carol.cookie, body: { username: other.username } })).status, 403, 'only the owner adds')
  t.equal((await request(a, 'DELETE', `${url}/members/${owner.username}`, { cookie: carol.cookie })).status, 403, 'or removes')
  t.equal((await request(b, 'GET', url, { cookie: carol.cookie })).status, 200, 'a member reads')

  t.equal((await request(a, 'DELETE', `${url}/members/${carol.username}`, { cookie: owner.cookie })).status, 200)
  for (const device of devices) {
    const removed = await device.waitFor((f) => f.type === 'conversation.removed', 'conversation.removed')
    t.same(removed, { type: 'conversation.removed', conversationId: id, by: owner.username })
  }
  t.equal((await request(b, 'GET', url, { cookie: carol.cookie })).status, 404, 'and no longer')
  t.equal((await request(a, 'DELETE', `${url}/members/${carol.username}`, { cookie: owner.cookie })).status, 404, 'removing twice is 404')
  const events = await settled(await subscribed(a, owner.cookie, id))
  t.same(
    events.map((e) => [e.type, e.user, e.by]),
    [
      ['member.added', carol.username, owner.username],
      ['member.removed', carol.username, owner.username],
    ],
    'both are in the log',
  )
  t.notOk('userId' in (events[1] as object), 'the removed member’s id stays inside the cluster')
})

t.test('a member removed and added again resumes from before the removal', async (t) => {
  const owner = await register(a, newUsername('owner'))
  const erin = await register(b, newUsername('erin'))
  const { id, url } = await privateConversation(owner.cookie, [erin.username])
  await postMessage(a, owner.cookie, id, 'before')
  await request(a, 'DELETE', `${url}/members/${erin.username}`, { cookie: owner.cookie })
  await postMessage(a, owner.cookie, id, 'while away')
  await request(b, 'POST', `${url}/members`, { cookie: owner.cookie, body: { username: erin.username } })
  const socket = await subscribed(b, erin.cookie, id)
  const events = await settled(socket)
  t.same(
    events.map((e) => e.type),
    ['member.added', 'message.created', 'member.removed', 'message.created', 'member.added'],
    'a member reads the whole history, as over REST',
  )
  t.equal((await request(b, 'GET', `${url}?N=10`, { cookie: erin.cookie })).body.messages.length, 2)
})

t.test('removal race: nothing committed after the removal reaches any device of the removed member', async (t) => {
  const owner = await register(a, newUsername('owner'))
  const dave = await register(b, newUsername('dave'))
  const { id, url } = await privateConversation(owner.cookie, [dave.username])
  const daveDevices = [await subscribed(a, dave.cookie, id), await subscribed(b, dave.cookie, id)]
  const ownerWatchers = [await subscribed(a, owner.cookie, id), await subscribed(b, owner.cookie, id)]

  // Two writers, one per node, post without pause while the owner removes dave.
  let stop = false
  let posted = 0
  const writer = async (node: string) => {
    while (!stop) {
      const res = await postMessage(node, owner.cookie, id, `m${posted++}`)
      if (res.status !== 201) throw new Error(`post: ${res.status}`)
    }
  }
  const writers = [writer(a), writer(b)]
  while (posted < 40) await new Promise((resolve) => setTimeout(resolve, 5))
  t.equal((await request(b, 'DELETE', `${url}/members/${dave.username}`, { cookie: owner.cookie })).status, 200)
  const removedAt = posted
  while (posted < removedAt + 40) await new Promise((resolve) => setTimeout(resolve, 5))
  stop = true
  await Promise.all(writers)

  const lastSeq = (await request(a, 'GET', `${url}?N=1`, { cookie: owner.cookie })).body.messages[0].url.split('/').pop()
  for (const watcher of ownerWatchers) await watcher.waitFor(() => watcher.events.some((e) => e.seq === Number(lastSeq)), 'the last post')
  const removal = ownerWatchers[0]!.events.find((e) => e.type === 'member.removed')
  t.ok(removal, 'the owner saw the removal')
  t.ok(ownerWatchers[0]!.events.some((e) => e.seq > removal.seq), 'posts were committed after the removal')

  for (const [i, device] of daveDevices.entries()) {
    const events = await settled(device)
    const seqs = events.map((e) => e.seq)
    t.same(seqs, Array.from({ length: removal.seq }, (_, k) => k + 1), `device ${i}: every seq up to the removal, none after`)
    t.equal(events[events.length - 1].type, 'member.removed', `device ${i}: the removal is the last event`)
    t.ok(device.frames.some((f) => f.type === 'unsubscribed' && f.conversationId === id && f.reason === 'removed'), `device ${i}: told it was unsubscribed`)
    t.match(await device.call({ type: 'subscribe', id: 'again', conversationId: id, afterSeq: 0 }), { type: 'error', code: 'not_found' })
  }
  t.equal((await postMessage(a, dave.cookie, id, 'still here?')).status, 404, 'the removed member cannot post')
})

t.test('members are paged to the end: a full last page says next: null, and no empty page follows', async (t) => {
  const owner = await register(a, newUsername('pager'))
  const others = [await register(a, newUsername('paged')), await register(b, newUsername('paged'))]
  const { url } = await privateConversation(owner.cookie, others.map((o) => o.username))
  const whole = await request(b, 'GET', `${url}/members?limit=3`, { cookie: owner.cookie })
  t.same([whole.body.members.length, whole.body.next], [3, null], 'exactly one full page')
  const seen: string[] = []
  let after: string | null = null
  let pages = 0
  do {
    const page: any = await request(a, 'GET', `${url}/members?limit=1${after === null ? '' : `&after=${after}`}`, { cookie: owner.cookie })
    t.equal(page.body.members.length, 1, 'no page is empty')
    seen.push(...page.body.members.map((m: any) => m.user))
    after = page.body.next
    pages++
  } while (after !== null && pages < 10)
  t.same(seen, whole.body.members.map((m: any) => m.user), 'three pages of one, in order')
  t.equal(pages, 3)
})
