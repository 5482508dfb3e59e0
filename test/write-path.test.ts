import { randomBytes } from 'node:crypto'
import t from 'tap'
import pg from 'pg'
import { startNode } from './helpers/in-process.js'
import { createConversation, postMessage, register, request } from './helpers/http-client.js'
import { parseExposition, total } from './helpers/prometheus.js'
import { untilSomeoneWaitsForALock } from './helpers/sql.js'

const METRICS_TOKEN = randomBytes(16).toString('hex')
const { url, config } = await startNode(t, 'write_path', { METRICS_TOKEN })
const alice = await register(url)

/** The append statements so far, and the posts they carried. */
async function appendBatches() {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
  const samples = parseExposition(await res.text())
  return { statements: total(samples, 'chat_append_batch_posts_count'), posts: total(samples, 'chat_append_batch_posts_sum') }
}

const seqOf = (messageUrl: string) => Number(messageUrl.split('/').pop())

t.test('concurrent posts that share statements get gapless seqs in each conversation', async (t) => {
  const conversations = await Promise.all([1, 2, 3, 4].map(() => createConversation(url, alice.cookie)))
  const missing = Math.max(...conversations.map((c) => c.id)) + 1000
  const targets = Array.from({ length: 120 }, (_, i) => (i % 10 === 9 ? missing : (conversations[i % 4] as { id: number }).id))
  const before = await appendBatches()
  const replies = await Promise.all(targets.map((id, i) => postMessage(url, alice.cookie, id, `post ${i}`)))
  const after = await appendBatches()
  t.equal(after.posts - before.posts, 120, 'every post went through the append batcher')
  // No linger: posts share a statement because they come while another runs.
  t.ok(after.statements - before.statements < 120, `posts shared statements: ${after.statements - before.statements} for 120`)

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
  // The retry and ten new posts are sent together, so they meet in one statement (one turn's, or
  // the one that gathers while another runs).
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

t.test("a log row's time is read under the conversation's lock, so times follow seq order", async (t) => {
  const { id } = await createConversation(url, alice.cookie)
  const original = await postMessage(url, alice.cookie, id, 'to be edited')
  const holder = new pg.Client({ connectionString: config.databaseUrl })
  await holder.connect()
  t.teardown(() => holder.end())

  // A writer holds the conversation's row while a post and then an edit start: both wait for it. The
  // time either gets must be from after the row was let go, not from when its statement or
  // transaction began, or a writer that began first and locked second would go back in time.
  const changes: [string, () => Promise<Date>][] = [
    ['a post', async () => {
      const posted = await postMessage(url, alice.cookie, id, 'waited for the lock')
      return new Date((await request(url, 'GET', posted.body.url, { cookie: alice.cookie })).body.timestamp)
    }],
    ['an edit', async () => {
      const edited = await request(url, 'PATCH', original.body.url, { cookie: alice.cookie, body: { text: 'edited after the wait' } })
      return new Date(edited.body.edited)
    }],
  ]
  for (const [what, change] of changes) {
    await holder.query('BEGIN')
    await holder.query('UPDATE conversations SET title = title WHERE id = $1', [id])
    const pending = change()
    await untilSomeoneWaitsForALock(holder)
    // Times are compared to the millisecond: let the waiter wait a little longer than that.
    const { rows } = await holder.query('SELECT pg_sleep(0.01), clock_timestamp() AS released')
    await holder.query('COMMIT')
    const time = await pending
    t.ok(time >= rows[0].released, `${what}: its time ${time.toISOString()} is not before the lock was let go at ${rows[0].released.toISOString()}`)
  }

  // A clock that steps back (NTP) must not take times back either.
  await holder.query("UPDATE conversations SET last_event_at = now() + interval '1 hour' WHERE id = $1", [id])
  const afterStep = await postMessage(url, alice.cookie, id, 'after the clock stepped back')
  const stepped = await request(url, 'GET', afterStep.body.url, { cookie: alice.cookie })
  t.ok(new Date(stepped.body.timestamp).getTime() > Date.now() + 30 * 60_000, 'a post is not earlier than the row before it')

  const events = await request(url, 'GET', `/api/conversations/${id}?after=0&limit=100`, { cookie: alice.cookie })
  const times = events.body.messages.map((m: { timestamp: string }) => m.timestamp)
  t.same(times, [...times].sort(), 'listed in seq order, the times never go down')
})
