import t from 'tap'
import { startNode } from './helpers/in-process.js'
import { createConversation, postMessage, register } from './helpers/http-client.js'
import { TestSocket } from './helpers/ws-client.js'

const { url } = await startNode(t, 'resume_storm', { RESUME_LIMIT: '50' })
const alice = await register(url)

t.test('sockets that resume at once, from the same seq or not, each get exactly their backfill', async (t) => {
  const conversations = await Promise.all([0, 1, 2].map(() => createConversation(url, alice.cookie)))
  for (const [c, { id }] of conversations.entries()) for (let i = 1; i <= 10 + c; i++) await postMessage(url, alice.cookie, id, `c${c} m${i}`)
  const missing = Math.max(...conversations.map((c) => c.id)) + 1000

  // 30 sockets: conversation i % 3, resuming from seq 0, 4 or 9 (several sockets share each pair).
  const plans = Array.from({ length: 30 }, (_, i) => ({ c: i % 3, afterSeq: [0, 4, 9][i % 3 === 0 ? 0 : (i >> 1) % 3] as number }))
  const sockets = await Promise.all(plans.map(() => TestSocket.connect(url, alice.cookie)))
  t.teardown(() => sockets.forEach((s) => s.close()))
  const replies = await Promise.all(
    sockets.map((socket, i) => {
      const { c, afterSeq } = plans[i] as { c: number; afterSeq: number }
      socket.send({ type: 'subscribe', id: 'missing', conversationId: missing, afterSeq: 0 })
      return socket.call({ type: 'subscribe', id: 'r', conversationId: (conversations[c] as { id: number }).id, afterSeq })
    }),
  )
  for (const [i, socket] of sockets.entries()) {
    const { c, afterSeq } = plans[i] as { c: number; afterSeq: number }
    const total = 10 + c
    t.same(replies[i], { type: 'subscribed', id: 'r', conversationId: conversations[c]?.id, lastSeq: total, complete: true })
    const events = await socket.waitForEvents(total - afterSeq)
    t.same(
      events.map((e) => e.message.text),
      Array.from({ length: total - afterSeq }, (_, k) => `c${c} m${afterSeq + k + 1}`),
      `socket ${i}: conversation ${c} after seq ${afterSeq}`,
    )
    const refused = await socket.waitFor((f) => f.id === 'missing', 'the missing conversation')
    t.same([refused.type, refused.code], ['error', 'not_found'])
  }
})
