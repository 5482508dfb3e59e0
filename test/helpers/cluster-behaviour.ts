import type { Test } from 'tap'
import type { Cluster } from './cluster.js'
import { createConversation, postMessage, register, request } from './http-client.js'
import { TestSocket } from './ws-client.js'

/**
 * What a cluster of 3 nodes must do whatever it runs on (one Redis or a Redis Cluster, any bus
 * routing): every node serves every session, posts reach every subscribed socket on every node once
 * and in order, concurrent posts get a gapless seq, a client resumes on another node with no gap and
 * no duplicate, and SIGTERM drains a node (the third, which it leaves stopped).
 */
export function testClusterBehaviour(t: Test, nodes: Cluster): void {
  const [a, b, c] = nodes.map((n) => n.url) as [string, string, string]

  const seqs = (socket: TestSocket) => socket.events.map((e) => e.seq)
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

  t.test('every node accepts every session and serves the same data', async (t) => {
    const user = await register(a)
    const { id } = await createConversation(b, user.cookie, 'shared')
    await postMessage(c, user.cookie, id, 'from c')
    for (const url of [a, b, c]) {
      const res = await request(url, 'GET', `/api/conversations/${id}`, { cookie: user.cookie })
      t.same(res.body.messages.map((m: any) => m.text), ['from c'], url)
    }
  })

  t.test('a post on any node reaches every subscribed socket on every node, once and in order', async (t) => {
    const alice = await register(a)
    const bob = await register(b)
    const carol = await register(c)
    const { id } = await createConversation(a, alice.cookie, 'fan-out')
    const elsewhere = await createConversation(a, alice.cookie, 'elsewhere')

    const aliceLaptop = await TestSocket.connect(a, alice.cookie)
    const alicePhone = await TestSocket.connect(b, alice.cookie)
    const bobSocket = await TestSocket.connect(c, bob.cookie)
    const carolSocket = await TestSocket.connect(b, carol.cookie)
    const idle = await TestSocket.connect(c, carol.cookie)
    const onOther = await TestSocket.connect(a, bob.cookie)
    const all = [aliceLaptop, alicePhone, bobSocket, carolSocket, idle, onOther]
    t.teardown(() => all.forEach((s) => s.close()))
    const subscribed = [aliceLaptop, alicePhone, bobSocket, carolSocket]
    for (const [i, socket] of subscribed.entries()) await socket.call({ type: 'subscribe', id: `s${i}`, conversationId: id })
    await onOther.call({ type: 'subscribe', id: 'o', conversationId: elsewhere.id })

    await postMessage(a, alice.cookie, id, 'REST on a')
    await postMessage(b, bob.cookie, id, 'REST on b')
    await postMessage(c, carol.cookie, id, 'REST on c')
    await bobSocket.call({ type: 'send', id: 'ws-c', conversationId: id, text: 'socket on c' })
    await alicePhone.call({ type: 'send', id: 'ws-b', conversationId: id, text: "alice's phone on b" })
    const deleted = await postMessage(a, alice.cookie, id, 'to be deleted')
    await request(b, 'DELETE', deleted.body.url, { cookie: alice.cookie })

    const expected = [
      [1, 'message.created', 'REST on a'],
      [2, 'message.created', 'REST on b'],
      [3, 'message.created', 'REST on c'],
      [4, 'message.created', 'socket on c'],
      [5, 'message.created', "alice's phone on b"],
      [6, 'message.created', 'to be deleted'],
      [7, 'message.deleted', undefined],
    ]
    for (const socket of subscribed) {
      await socket.waitForEvents(7)
      t.same(socket.events.map((e) => [e.seq, e.type, e.message?.text]), expected)
    }
    t.same(aliceLaptop.events.find((e) => e.seq === 5).message.user, alice.username, "alice's laptop got what her phone posted")
    // A marker posted last: once it has arrived, anything stray would have arrived before it.
    await postMessage(c, bob.cookie, elsewhere.id, 'marker')
    await onOther.waitForEvents(1)
    t.same(onOther.events.map((e) => e.message.text), ['marker'], 'a socket on another conversation gets only that one')
    t.equal(idle.events.length, 0, 'a socket with no subscription gets nothing')
    for (const socket of subscribed) t.equal(socket.events.length, 7, 'no duplicates arrived later')
  })

  t.test('50 concurrent posts from all nodes get seq 1..50 and every subscriber sees that order', async (t) => {
    const users = await Promise.all([register(a), register(b), register(c)])
    const { id } = await createConversation(a, users[0]!.cookie, 'concurrency')
    const sockets = await Promise.all([a, b, c, a, b, c].map((url, i) => TestSocket.connect(url, users[i % 3]!.cookie)))
    t.teardown(() => sockets.forEach((s) => s.close()))
    for (const [i, socket] of sockets.entries()) await socket.call({ type: 'subscribe', id: `s${i}`, conversationId: id })

    const posts = await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const url = [a, b, c][i % 3]!
        if (i % 5 === 0) return sockets[i % 3]!.call({ type: 'send', id: `w${i}`, conversationId: id, text: `post ${i}` }).then((ack) => ack.seq)
        return postMessage(url, users[i % 3]!.cookie, id, `post ${i}`).then((res) => Number(res.body.url.split('/').pop()))
      }),
    )
    t.same([...posts].sort((x, y) => x - y), range(1, 50), 'the seqs handed out are 1..50 with no gap')
    for (const socket of sockets) {
      await socket.waitForEvents(50)
      t.same(seqs(socket), range(1, 50), 'in seq order, once each')
    }
    const listed = await request(b, 'GET', `/api/conversations/${id}?N=100`, { cookie: users[1]!.cookie })
    t.equal(listed.body.messages.length, 50)
    const times = listed.body.messages.map((m: { timestamp: string }) => m.timestamp)
    t.same(times, [...times].sort(), 'in seq order, the timestamps never go down')
  })

  t.test('a client that reconnects to another node resumes with no gap and no duplicate', async (t) => {
    const alice = await register(a)
    const { id } = await createConversation(a, alice.cookie, 'resume')
    const first = await TestSocket.connect(a, alice.cookie)
    await first.call({ type: 'subscribe', id: 's', conversationId: id })
    for (let i = 1; i <= 3; i++) await postMessage(b, alice.cookie, id, `before ${i}`)
    await first.waitForEvents(3)
    const lastSeen = first.events[first.events.length - 1].seq
    first.close()
    await first.waitForClose()

    for (let i = 1; i <= 5; i++) await postMessage(b, alice.cookie, id, `missed ${i}`)
    const second = await TestSocket.connect(c, alice.cookie)
    t.teardown(() => second.close())
    // Posts keep arriving while the resume runs.
    const during = Promise.all(Array.from({ length: 5 }, (_, i) => postMessage(a, alice.cookie, id, `during ${i + 1}`)))
    const subscribed = await second.call({ type: 'subscribe', id: 'r', conversationId: id, afterSeq: lastSeen })
    t.equal(subscribed.complete, true)
    await during
    await postMessage(b, alice.cookie, id, 'after')
    await second.waitForEvents(11)
    t.same(seqs(second), range(4, 14), 'exactly the missed events, then the live ones')
    t.same(second.events.slice(0, 5).map((e) => e.message.text), range(1, 5).map((i) => `missed ${i}`))
    t.equal(second.events[10].message.text, 'after')
  })

  t.test('SIGTERM closes sockets with 1012 and the node exits cleanly', async (t) => {
    const user = await register(c)
    const socket = await TestSocket.connect(c, user.cookie)
    nodes[2]!.child.kill('SIGTERM')
    t.equal((await socket.waitForClose()).code, 1012, 'service restart: reconnect elsewhere')
    t.equal(await nodes[2]!.exited, 0)
    const survivor = await request(a, 'GET', '/api/conversations', { cookie: user.cookie })
    t.equal(survivor.status, 200, 'the other nodes serve the same session')
  })
}
