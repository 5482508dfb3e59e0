import t from 'tap'
import { startCluster } from './helpers/cluster.js'
import { login, newUsername, postMessage, register, request } from './helpers/http-client.js'
import { TestSocket } from './helpers/ws-client.js'

const PASSWORD = 'correct horse battery'
const PRESENCE_TTL_SECONDS = 2
const nodes = await startCluster(t, 'presence', 3, { PRESENCE_TTL_SECONDS: String(PRESENCE_TTL_SECONDS) })
const [a, b, c] = nodes.map((n) => n.url) as [string, string, string]
const idOf = (url: string) => Number(url.split('/').pop())

async function open(url: string, cookie: string): Promise<TestSocket> {
  const socket = await TestSocket.connect(url, cookie)
  t.teardown(() => socket.close())
  return socket
}

/** Waits until the socket has had `count` presence frames; answers them as [user, online]. */
async function presenceFrames(socket: TestSocket, count: number, timeoutMs?: number): Promise<[string, boolean][]> {
  await socket.until(() => (socket.frames.filter((f) => f.type === 'presence').length >= count ? true : undefined), `${count} presence frames`, timeoutMs)
  return socket.frames.filter((f) => f.type === 'presence').map((f) => [f.user, f.online])
}

t.test('typing reaches the other subscribers on every node, once per interval, never stored', async (t) => {
  const typist = await register(a, newUsername('typist'), PASSWORD)
  const reader = await register(b, newUsername('reader'))
  const { body } = await request(a, 'POST', '/api/conversations', { cookie: typist.cookie, body: { title: 'typing', kind: 'private', members: [reader.username] } })
  const id = idOf(body.url)
  const typing = await open(a, typist.cookie)
  const ownOtherDevice = await open(b, await login(b, typist.username, PASSWORD))
  const readers = [await open(b, reader.cookie), await open(c, reader.cookie)]
  for (const s of [typing, ownOtherDevice, ...readers]) await s.call({ type: 'subscribe', id: 's', conversationId: id })

  for (let i = 0; i < 10; i++) typing.send({ type: 'typing', conversationId: id })
  await postMessage(a, typist.cookie, id, 'done typing')
  for (const r of readers) {
    await r.waitForEvents(1)
    const frames = r.frames.filter((f) => f.type === 'typing')
    t.same(frames, [{ type: 'typing', conversationId: id, user: typist.username, expiresInMs: 6000 }], 'one of ten, before the post')
  }
  await ownOtherDevice.waitForEvents(1)
  t.notOk(ownOtherDevice.frames.some((f) => f.type === 'typing'), "not to the typist's own devices")
  const log = await request(a, 'GET', `${body.url}?N=100`, { cookie: reader.cookie })
  t.same(log.body.messages.map((m: any) => m.text), ['done typing'], 'nothing stored')

  const outsider = await register(a, newUsername('outsider'))
  const outsiderSocket = await open(a, outsider.cookie)
  t.match(await outsiderSocket.call({ type: 'typing', id: 't', conversationId: id }), { type: 'error', code: 'forbidden' }, 'not subscribed')
  const lobby = await request(a, 'POST', '/api/conversations', { cookie: typist.cookie, body: { title: 'watchers', kind: 'public' } })
  await outsiderSocket.call({ type: 'subscribe', id: 'p', conversationId: idOf(lobby.body.url) })
  t.match(await outsiderSocket.call({ type: 'typing', id: 't2', conversationId: idOf(lobby.body.url) }), { type: 'error', code: 'forbidden' }, 'a watcher of a public conversation cannot type')
  t.match(await outsiderSocket.call({ type: 'typing', id: 't3', conversationId: 'x' }), { type: 'error', code: 'bad_frame' })
  const anonymous = await TestSocket.open(b)
  await anonymous.waitFor((f) => f.type === 'welcome', 'welcome')
  anonymous.send({ type: 'typing', conversationId: idOf(lobby.body.url) })
  t.equal((await anonymous.waitForClose()).code, 4003, 'someone not logged in who types is closed')
})

t.test('presence: online while any device is connected to any node, told to contacts', async (t) => {
  const watcher = await register(a, newUsername('watcher'))
  const friend = await register(b, newUsername('friend'), PASSWORD)
  const stranger = await register(a, newUsername('stranger'))
  await request(a, 'POST', `/api/direct/${friend.username}`, { cookie: watcher.cookie })
  const watching = await open(a, watcher.cookie)
  const notContact = await open(a, stranger.cookie)

  const laptop = await TestSocket.connect(b, friend.cookie)
  t.same(await presenceFrames(watching, 1), [[friend.username, true]], 'first device: online')
  const inbox = await request(a, 'GET', '/api/inbox', { cookie: watcher.cookie })
  t.equal(inbox.body.conversations[0].user.online, true, 'the inbox says so too')
  const phone = await TestSocket.connect(c, await login(c, friend.username, PASSWORD))
  laptop.close()
  await laptop.waitForClose()
  // A ping through the watcher's node after both changes: any presence frame would have come first.
  const tablet = await TestSocket.connect(a, await login(a, friend.username, PASSWORD))
  tablet.close()
  await tablet.waitForClose()
  await watching.call({ type: 'ping', id: 'p1' })
  t.same(await presenceFrames(watching, 1), [[friend.username, true]], 'other devices coming and going change nothing')
  // The phone drops and comes straight back to the same node, within the grace period.
  phone.close()
  await phone.waitForClose()
  const back = await TestSocket.connect(c, await login(c, friend.username, PASSWORD))
  await watching.call({ type: 'ping', id: 'p3' })
  t.same(await presenceFrames(watching, 1), [[friend.username, true]], 'a device that reconnects at once is not announced')
  back.close()
  t.same(await presenceFrames(watching, 2), [[friend.username, true], [friend.username, false]], 'the last device: offline')
  const after = await request(b, 'GET', '/api/inbox', { cookie: watcher.cookie })
  t.equal(after.body.conversations[0].user.online, false)
  await notContact.call({ type: 'ping', id: 'p2' })
  t.notOk(notContact.frames.some((f) => f.type === 'presence'), 'someone who is no contact hears nothing')
})

t.test('presence: the users of a node killed with SIGKILL go offline within the time to live', async (t) => {
  const watcher = await register(a, newUsername('watcher'))
  const victim = await register(c, newUsername('victim'))
  await request(a, 'POST', `/api/direct/${victim.username}`, { cookie: watcher.cookie })
  const watching = await open(a, watcher.cookie)
  await TestSocket.connect(c, victim.cookie)
  t.same(await presenceFrames(watching, 1), [[victim.username, true]])
  const killedAt = performance.now()
  nodes[2]!.child.kill('SIGKILL')
  // The documented bound: the time to live, plus a third of it until some node's next sweep.
  const bound = PRESENCE_TTL_SECONDS * 1000 * (4 / 3)
  t.same(await presenceFrames(watching, 2, bound + 10_000), [[victim.username, true], [victim.username, false]], 'offline, without its node')
  t.comment(`offline ${Math.round(performance.now() - killedAt)} ms after the kill (documented bound ${bound} ms)`)
  const inbox = await request(b, 'GET', '/api/inbox', { cookie: watcher.cookie })
  t.equal(inbox.body.conversations[0].user.online, false)
})
