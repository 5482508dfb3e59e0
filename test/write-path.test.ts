import t from 'tap'
import pg from 'pg'
import { startNode } from './helpers/in-process.js'
import { createConversation, postMessage, register, request } from './helpers/http-client.js'

// A linger long enough that concurrent posts share append statements.
const { url, config } = await startNode(t, 'write_path', { APPEND_LINGER_MS: '20' })
const alice = await register(url)

const seqOf = (messageUrl: string) => Number(messageUrl.split('/').pop())

t.test('concurrent posts that share statements get gapless seqs in each conversation', async (t) => {
  const conversations = await Promise.all([1, 2, 3, 4].map(() => createConversation(url, alice.cookie)))
  const missing = Math.max(...conversations.map((c) => c.id)) + 1000
  const targets = Array.from({ length: 120 }, (_, i) => (i % 10 === 9 ? missing : (conversations[i % 4] as { id: number }).id))
  const replies = await Promise.all(targets.map((id, i) => postMessage(url, alice.cookie, id, `post ${i}`)))

  replies.forEach((reply, i) => {
    if (targets[i] === missing) t.same([reply.status, reply.body], [404, { status: 'not found' }], `post ${i} to a missing conversation`)
    else t.equal(reply.status, 201, `post ${i}`)
  })
  for (const { id } of conversations) {
    const seqs = replies.filter((_, i) => targets[i] === id).map((r) => seqOf(r.body.url))
    t.same(
      [...seqs].sort((a, b) => a - b),
      Array.from({ length: seqs.length }, (_, k) => k + 1),
      `conversation ${id} got seqs 1..${seqs.length}`,
    )
    const listed = await request(url, 'GET', `/api/conversations/${id}?N=100`, { cookie: alice.cookie })
    t.equal(listed.body.messages.length, seqs.length, 'every acknowledged post is stored')
    const texts = new Map(replies.map((r, i) => [r.body.url, `post ${i}`]))
    for (const message of listed.body.messages) t.equal(message.text, texts.get(message.url), `${message.url} holds what was posted`)
  }
})

t.test('a retried post inside a batch returns the original and fails nothing else', async (t) => {
  const { id } = await createConversation(url, alice.cookie)
  const first = await request(url, 'POST', `/api/conversations/${id}`, {
    cookie: alice.cookie,
    body: { text: 'once' },
    headers: { 'idempotency-key': 'k-original' },
  })
  t.equal(first.status, 201)
  // The retry and ten new posts are sent together, so they meet in one statement.
  const keys = ['k-original', ...Array.from({ length: 10 }, (_, i) => `k-new-${i}`)]
  const replies = await Promise.all(
    keys.map((key) =>
      request(url, 'POST', `/api/conversations/${id}`, { cookie: alice.cookie, body: { text: key }, headers: { 'idempotency-key': key } }),
    ),
  )
  t.same(
    replies.map((r) => r.status),
    keys.map(() => 201),
  )
  t.equal(replies[0]?.body.url, first.body.url, 'the retry answers with the original message')
  const seqs = replies.slice(1).map((r) => seqOf(r.body.url))
  t.same(
    [...seqs].sort((a, b) => a - b),
    Array.from({ length: 10 }, (_, k) => k + 2),
    'the new posts took seqs 2..11',
  )
  const listed = await request(url, 'GET', `/api/conversations/${id}?N=100`, { cookie: alice.cookie })
  t.equal(listed.body.messages.length, 11, 'the retry created nothing')
  t.equal(listed.body.messages[0].text, 'once')
})

t.test('a node whose Postgres connections are ended (a restart, an admin) keeps serving', async (t) => {
  const { id } = await createConversation(url, alice.cookie)
  t.equal((await postMessage(url, alice.cookie, id, 'before')).status, 201)
  const admin = new pg.Client({ connectionString: config.databaseUrl })
  await admin.connect()
  const ended = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')
  await admin.end()
  t.ok(ended.rowCount && ended.rowCount > 0, `ended ${ended.rowCount} connections`)
  await new Promise((resolve) => setTimeout(resolve, 100))
  const after = await postMessage(url, alice.cookie, id, 'after')
  t.equal(after.status, 201, 'the pool replaced its connections')
  t.equal(Number(after.body.url.split('/').pop()), 2)
})
