import { chmod, mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { type NodeProcess, spawnNode, stopNodes } from '../deploy/spawn-node.js'
import { launchChromium, openDevice } from './helpers/browser.js'
import { createConversation, login, newUsername, postMessage, register, request } from './helpers/http-client.js'
import { privateNamespace } from './helpers/netns.js'
import { testNodeEnv } from './helpers/node-env.js'
import { unstructuredLines } from './helpers/waiting.js'
import { builtWebClient } from './helpers/web-build.js'
import { WebClient } from './helpers/web-ui.js'
import { TestSocket } from './helpers/ws-client.js'

/**
 * `npm start` on a machine with no Postgres and no Redis: a real node process with DATABASE_URL and
 * REDIS_URL unset, in a network namespace of its own, where nothing answers at their loopback
 * defaults. It must run alone on embedded storage, say so, serve the REST, WebSocket and web client
 * flows, refuse a second node on its data directory, and keep its data across restarts and a kill.
 */

const PASSWORD = 'correct horse battery'
// A node process, its embedded Postgres (initdb on the first start) and a browser share two cores with other work.
t.setTimeout(5 * 60_000)

const namespace = await privateNamespace()
if (!namespace) t.plan(0, 'no network namespace can be made here (ip netns needs root), and only one hides the loopback services')
else {
  await builtWebClient()
  // Root runs the embedded Postgres as the user postgres, which must reach the directory.
  const dataDir = join(await mkdtemp(join(tmpdir(), 'chat-embedded-')), 'data')
  await chmod(join(dataDir, '..'), 0o755)
  const started: NodeProcess[] = []
  // A node left running by a test process that failed outside a test: its Postgres goes with it.
  process.once('exit', () => started.forEach((node) => node.child.kill('SIGKILL')))
  t.teardown(async () => {
    await stopNodes(started)
    await rm(join(dataDir, '..'), { recursive: true, force: true })
  })
  const env = { ...(await testNodeEnv()), DATABASE_URL: '', REDIS_URL: '', DATA_DIR: dataDir, LOG_LEVEL: 'info' }
  const start = async (port = 3000) => {
    const node = await spawnNode(port, env, undefined, namespace)
    started.push(node)
    return node
  }
  let node = await start()
  const url = () => node.url

  const alice = { username: newUsername('alice'), cookie: '' }
  const bob = { username: newUsername('bob'), cookie: '' }
  let conversationId = 0

  t.test('the node says it runs alone on embedded storage, where its data is, and how to run a cluster', async (t) => {
    const [first, second] = node.output.slice(0, 2).map((line) => JSON.parse(line))
    t.match(first, { mode: 'single node', dataDir, msg: /single node with embedded storage.*Postgres.*in memory/ }, 'the first line')
    t.match(second, { msg: /cluster.*DATABASE_URL and REDIS_URL.*README/ }, 'the second')
    t.same(unstructuredLines(node.output), [], 'Postgres writes to its own log, not into the node’s JSON lines')
    const ready = await request(url(), 'GET', '/readyz')
    t.same([ready.status, ready.body], [200, { status: 'ok', postgres: true }], '/readyz: ready without Redis')
  })

  t.test('REST and WebSocket: register, log in, post; a subscriber gets the event, and resumes after reconnecting', async (t) => {
    await register(url(), alice.username, PASSWORD)
    alice.cookie = await login(url(), alice.username, PASSWORD)
    bob.cookie = (await register(url(), bob.username)).cookie
    conversationId = (await createConversation(url(), alice.cookie, 'embedded')).id
    const socket = await TestSocket.connect(url(), bob.cookie)
    t.match(await socket.call({ type: 'subscribe', id: 's', conversationId }), { type: 'subscribed', lastSeq: 0 })
    t.equal((await postMessage(url(), alice.cookie, conversationId, 'one')).status, 201)
    t.same((await socket.waitForEvents(1)).map((e) => [e.seq, e.message.text]), [[1, 'one']], 'the subscriber gets the post')
    socket.close()
    await socket.waitForClose()

    for (const text of ['two', 'three']) await postMessage(url(), alice.cookie, conversationId, text)
    const again = await TestSocket.connect(url(), bob.cookie)
    t.teardown(() => again.close())
    t.match(await again.call({ type: 'subscribe', id: 'r', conversationId, afterSeq: 1 }), { type: 'subscribed', lastSeq: 3, complete: true })
    t.same((await again.waitForEvents(2)).map((e) => [e.seq, e.message.text]), [[2, 'two'], [3, 'three']], 'what was missed, once each')

    // Posts at once from both users share the pool's connections and the conversation's row lock.
    const posts = await Promise.all(
      Array.from({ length: 30 }, (_, i) => postMessage(url(), i % 2 ? alice.cookie : bob.cookie, conversationId, `burst ${i}`)),
    )
    t.same(new Set(posts.map((p) => p.status)), new Set([201]))
    const seqs = (await again.waitForEvents(32)).slice(2).map((e) => e.seq)
    t.same(seqs, Array.from({ length: 30 }, (_, i) => i + 4), 'gapless seqs, delivered in order')
  })

  t.test('the web client: register, start a conversation, send a message', async (t) => {
    const browser = await launchChromium(t)
    const device = await openDevice(browser, url())
    t.teardown(() => device.page.context().close())
    const ui = new WebClient(device.page)
    await ui.register(newUsername('carol'))
    await ui.createConversation('Embedded room')
    await ui.send('hello from the browser')
    await t.resolves(ui.message('hello from the browser').waitFor(), 'the message shows')
    t.equal(await ui.connection.textContent(), 'Connected')
    t.same(device.problems, [], 'no uncaught error and no CSP violation')
  })

  t.test('a second node on the same data directory is refused, with exit code 2 and a message', async (t) => {
    await t.rejects(start(3001), /exited with 2 before it answered[\s\S]*in use by another node \(pid \d+\)[\s\S]*DATA_DIR/)
    t.equal((await request(url(), 'GET', '/readyz')).status, 200, 'the first node goes on')
  })

  t.test('the data outlives the node: stopped, then killed, it starts again with everything there', async (t) => {
    const history = async () => (await request(url(), 'GET', `/api/conversations/${conversationId}?limit=100&after=0`, { cookie: bob.cookie })).body.messages.length
    t.same(await stopNodes([node]), [0], 'SIGTERM: a clean exit')
    await t.rejects(stat(join(dataDir, 'node.pid')), { code: 'ENOENT' }, 'and the directory is free')

    node = await start()
    t.equal(await history(), 33, 'the history, after a restart')
    t.ok(await login(url(), alice.username, PASSWORD), 'and the accounts')

    node.child.kill('SIGKILL')
    await node.exited
    node = await start()
    t.equal(await history(), 33, 'after a kill too: the lock it left is taken over')
    const after = await postMessage(url(), alice.cookie, conversationId, 'after the kill')
    t.same([after.status, after.body.url], [201, `/api/conversations/${conversationId}/34`], 'and the log goes on where it was')
  })
}
