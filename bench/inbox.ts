/**
 * npm run bench:inbox [-- --conversations 5000 --posts 2]
 *
 * One real node on a fresh database. One user is a member of `conversations` conversations (private
 * ones, with a second user who posts `posts` messages in each, so all have unread messages and a
 * latest message). Prints the latency of the first inbox page, of every page when walking the whole
 * inbox by cursor, and of a read-marker move, as p50 / p99 / max in ms.
 */
import { parseArgs } from 'node:util'
import { request } from 'undici'
import { startBenchCluster } from './cluster.js'
import { registerUsers, times } from './fixtures.js'
import { latencyHistogram } from './latency.js'

const { values } = parseArgs({
  options: { conversations: { type: 'string', default: '5000' }, posts: { type: 'string', default: '2' } },
})
const conversationCount = Number(values.conversations)
const posts = Number(values.posts)

async function call(url: string, method: 'GET' | 'POST', cookie: string, body?: unknown): Promise<any> {
  const res = await request(url, {
    method,
    headers: { cookie, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const answer = await res.body.json()
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${JSON.stringify(answer)}`)
  return answer
}

async function timed<T>(histogram: ReturnType<typeof latencyHistogram>, run: () => Promise<T>): Promise<T> {
  const start = performance.now()
  const result = await run()
  histogram.recordValue(Math.max(1, Math.round((performance.now() - start) * 1000)))
  return result
}

const summary = (h: ReturnType<typeof latencyHistogram>) =>
  `n=${h.totalCount} p50 ${(h.getValueAtPercentile(50) / 1000).toFixed(2)} ms, p99 ${(h.getValueAtPercentile(99) / 1000).toFixed(2)} ms, max ${(h.maxValue / 1000).toFixed(2)} ms`

const target = await startBenchCluster(1)
try {
  const base = target.urls[0] as string
  const [reader, writer] = await registerUsers(target.urls, 2, `i${Date.now().toString(36)}`)
  if (!reader || !writer) throw new Error('registration failed')
  const setUpStart = performance.now()
  const ids = await times(conversationCount, 16, async (i) => {
    const { url } = await call(`${base}/api/conversations`, 'POST', writer.cookie, { title: `inbox ${i}`, kind: 'private', members: [reader.username] })
    for (let p = 0; p < posts; p++) await call(`${base}${url}`, 'POST', writer.cookie, { text: `message ${p} in ${i}` })
    return Number(url.split('/').pop())
  })
  console.log(`set-up: ${conversationCount} conversations × ${posts} posts in ${((performance.now() - setUpStart) / 1000).toFixed(1)} s`)

  const firstPage = latencyHistogram()
  for (let i = 0; i < 200; i++) await timed(firstPage, () => call(`${base}/api/inbox?limit=30`, 'GET', reader.cookie))
  console.log(`first inbox page (30 entries), 200 times: ${summary(firstPage)}`)

  const pages = latencyHistogram()
  let cursor: string | null = null
  let seen = 0
  do {
    const query: string = cursor === null ? '' : `&cursor=${cursor}`
    const page: any = await timed(pages, () => call(`${base}/api/inbox?limit=100${query}`, 'GET', reader.cookie))
    seen += page.conversations.length
    cursor = page.next
  } while (cursor !== null)
  if (seen !== conversationCount) throw new Error(`walked ${seen} entries, expected ${conversationCount}`)
  console.log(`every page of 100, walking all ${seen} entries by cursor: ${summary(pages)}`)

  const reads = latencyHistogram()
  for (const id of ids.slice(0, 500)) await timed(reads, () => call(`${base}/api/conversations/${id}/read`, 'POST', reader.cookie, { seq: 1 + posts }))
  console.log(`read-marker moves, 500: ${summary(reads)}`)
} finally {
  await target.stop()
}
