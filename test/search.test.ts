import pg from 'pg'
import t from 'tap'
import { SEARCH_QUERY_MAX_CHARS } from '../src/protocol/limits.js'
import { startCluster } from './helpers/cluster.js'
import { newUsername, postMessage, register, request } from './helpers/http-client.js'

const nodes = await startCluster(t, 'search', 3)
const [a, b, c] = nodes.map((n) => n.url) as [string, string, string]
const owner = await register(a, newUsername('owner'))
const reader = await register(b, newUsername('reader'))
const other = await register(a, newUsername('other'))

let words = 0
/** A word that no other test posts, so that each test sees only its own matches. */
const newWord = (label: string) => `${label}q${++words}z`

async function create(body: object, cookie = owner.cookie): Promise<number> {
  const res = await request(a, 'POST', '/api/conversations', { cookie, body })
  if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`)
  return Number(res.body.url.split('/').pop())
}

async function post(node: string, cookie: string, conversationId: number, text: string): Promise<number> {
  const res = await postMessage(node, cookie, conversationId, text)
  if (res.status !== 201) throw new Error(`post: ${res.status} ${JSON.stringify(res.body)}`)
  return Number(res.body.url.split('/').pop())
}

const search = (node: string, cookie: string, params: Record<string, string>) =>
  request(node, 'GET', `/api/search?${new URLSearchParams(params)}`, { cookie })

/** The texts a search finds, in order. */
async function found(node: string, cookie: string, params: Record<string, string>): Promise<string[]> {
  const res = await search(node, cookie, params)
  if (res.status !== 200) throw new Error(`search: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body.results.map((r: any) => r.message.text)
}

t.test('a message posted on one node is found through the other, with its place and highlights', async (t) => {
  const word = newWord('harbour')
  const id = await create({ title: 'docks', kind: 'private', members: [reader.username] })
  const seq = await post(a, owner.cookie, id, `Meet at the ${word} — bring <b>snacks</b> & ${word.toUpperCase()}!`)
  const res = await search(b, reader.cookie, { q: word })
  t.equal(res.status, 200)
  t.equal(res.body.next, null, 'one page')
  const [result] = res.body.results
  t.match(result, { conversationId: id, seq, message: { user: owner.username, url: `/api/conversations/${id}/${seq}`, edited: null }, rank: null })
  const text: string = result.message.text
  t.equal(text, `Meet at the ${word} — bring <b>snacks</b> & ${word.toUpperCase()}!`, 'the text as posted, markup untouched (it is text, never HTML)')
  t.same(
    result.highlights.map((h: any) => text.slice(h.start, h.end)),
    [word, word.toUpperCase()],
    'highlights are offsets of each match in the text',
  )
  t.same(await found(b, reader.cookie, { q: word.replace(/z$/, 'z').toUpperCase() }), [text], 'case does not matter')
  t.same(await found(a, other.cookie, { q: word }), [], 'a non-member finds nothing of a private conversation')
})

t.test('stems, phrases and words as in a web search engine', async (t) => {
  const word = newWord('fjord')
  const id = await create({ title: 'words', members: [reader.username] })
  const running = await post(a, owner.cookie, id, `${word} running late again`)
  await post(a, owner.cookie, id, `${word} late, running again`)
  t.same(await found(b, reader.cookie, { q: `${word} runs` }), ['${word} late, running again', '${word} running late again'].map((s) => s.replace('${word}', word)), 'stems match, newest first')
  t.same(await found(b, reader.cookie, { q: `"${word} running late"` }), [`${word} running late again`], 'a quoted phrase matches its words in order')
  t.same(await found(b, reader.cookie, { q: `${word} -late` }), [], '-word leaves out what holds it')
  t.same(await found(b, reader.cookie, { q: `${word} nowhere` }), [], 'every word must match')
  t.same((await found(b, reader.cookie, { q: `${word}nothing or ${word}` })).length, 2, 'or')
  t.ok(running > 0)
})

t.test('tsquery syntax is only text, never syntax', async (t) => {
  const word = newWord('rock')
  const id = await create({ title: 'syntax', members: [reader.username] })
  const text = `${word}&roll (live) at 10:30 <-> !encore* | ${word}`
  await post(a, owner.cookie, id, text)
  for (const q of [`${word}&roll`, `(${word}`, `${word}:*`, `${word} <-> roll`, `!${word} | roll`, `'${word}'`, `${word}\\`, `${word}:A`]) {
    const res = await search(b, reader.cookie, { q })
    t.equal(res.status, 200, `${JSON.stringify(q)} answers 200`)
  }
  t.same(await found(b, reader.cookie, { q: `${word}&roll` }), [text], 'a&b is the words a and b')
  t.same(await found(b, reader.cookie, { q: `${word}:*` }), [text], 'no prefix search: ":*" is punctuation')
  for (const q of ['&', '|', '!', '()', ':*', '<->', "'", '"', '\\', '& | ! ( ) : * <->', 'the and of']) {
    const res = await search(b, reader.cookie, { q })
    t.same([res.status, res.body], [200, { results: [], next: null }], `${JSON.stringify(q)}: no words to search for, nothing found`)
  }
})

t.test('bad input is a 400 with a clear message', async (t) => {
  const cases: [Record<string, string> | string, RegExp][] = [
    [{}, /^q must hold something/],
    [{ q: '' }, /^q must hold something/],
    [{ q: '   \t ' }, /^q must hold something/],
    [{ q: 'x'.repeat(10_000) }, new RegExp(`^q must be at most ${SEARCH_QUERY_MAX_CHARS} characters`)],
    [{ q: 'x'.repeat(SEARCH_QUERY_MAX_CHARS + 1) }, /at most/],
    [{ q: 'nul\0here' }, /NUL/],
    [{ q: 'x', order: 'oldest' }, /^order must be newest or rank/],
    [{ q: 'x', order: '' }, /^order must be newest or rank/],
    [{ q: 'x', limit: '0' }, /^limit must be an integer from 1 to 100/],
    [{ q: 'x', limit: '101' }, /^limit must be an integer from 1 to 100/],
    [{ q: 'x', limit: 'ten' }, /^limit must be/],
    [{ q: 'x', cursor: 'garbage' }, /^cursor is not one this server gave/],
    [{ q: 'x', cursor: Buffer.from('["n",-1]').toString('base64url') }, /^cursor is not one/],
    [{ q: 'x', cursor: Buffer.from('["r",1,2,0,"x",2]').toString('base64url'), order: 'rank' }, /^cursor is not one/],
    [{ q: 'x', cursor: Buffer.from('["r",1,2,5,0.5,2]').toString('base64url'), order: 'rank' }, /^cursor is not one/],
    [{ q: 'x', cursor: Buffer.from('["r",5,0.5,2]').toString('base64url') }, /^cursor belongs to order=rank/],
    [{ q: 'x', cursor: '' }, /^cursor is not one/],
  ]
  for (const [params, message] of cases) {
    const res = await search(a, reader.cookie, params as Record<string, string>)
    t.equal(res.status, 400, `${JSON.stringify(params).slice(0, 80)} → 400`)
    t.match(res.body, { status: 'invalid request', message }, 'with a message that says why')
  }
  for (const query of ['q=a&q=b', 'q=%ZZ', 'q=%ED%A0%80', 'q=x&limit=1&limit=2', 'q=x&conversation=1e3', `q=${'%F0%9F%98%80'.repeat(200)}`]) {
    const res = await request(a, 'GET', `/api/search?${query}`, { cookie: reader.cookie })
    t.ok(res.status === 400 || res.status === 404 || res.status === 200, `${query.slice(0, 40)}: ${res.status}, never a 5xx`)
    if (res.status !== 200) t.type(res.body.status, 'string', 'with the documented error body')
  }
  const raw = await request(a, 'GET', '/api/search?q=a%00b', { cookie: reader.cookie })
  t.same([raw.status, raw.body.message], [400, 'q must not contain NUL characters'], 'a NUL byte in the URL')
  t.equal((await request(a, 'GET', '/api/search?q=x')).status, 401, 'a search needs a login')
  for (const conversation of ['0', 'abc', '99999999']) {
    const res = await search(a, reader.cookie, { q: 'x', conversation })
    t.same([res.status, res.body], [404, { status: 'not found' }], `conversation=${conversation}: not found`)
  }
})

t.test('only what the user may read now: every kind of conversation, leaving, removal, blocks', async (t) => {
  const word = newWord('lantern')
  const privateId = await create({ title: 'private', kind: 'private', members: [reader.username] })
  const openId = await create({ title: 'open' })
  const joinedOpenId = await create({ title: 'joined open' })
  const publicId = await create({ title: 'public', kind: 'public' })
  const leftId = await create({ title: 'left', kind: 'private', members: [reader.username] })
  const removedId = await create({ title: 'removed', kind: 'private', members: [reader.username] })
  const foreignId = await create({ title: 'foreign', kind: 'private', members: [other.username] })
  const direct = await request(a, 'POST', `/api/direct/${reader.username}`, { cookie: owner.cookie })
  const directId = Number(direct.body.url.split('/').pop())
  const otherDirect = await request(a, 'POST', `/api/direct/${other.username}`, { cookie: owner.cookie })
  const otherDirectId = Number(otherDirect.body.url.split('/').pop())
  t.equal((await request(b, 'POST', `/api/conversations/${joinedOpenId}/join`, { cookie: reader.cookie })).status, 201)
  const texts = new Map<number, string>()
  for (const [id, where] of [
    [privateId, 'private'],
    [openId, 'open'],
    [joinedOpenId, 'joined-open'],
    [publicId, 'public'],
    [leftId, 'left'],
    [removedId, 'removed'],
    [foreignId, 'foreign'],
    [directId, 'direct'],
    [otherDirectId, 'other-direct'],
  ] as const) {
    texts.set(id, `${word} in ${where}`)
    await post(a, owner.cookie, id, `${word} in ${where}`)
  }
  t.equal((await request(b, 'POST', `/api/conversations/${leftId}/leave`, { cookie: reader.cookie })).status, 200)
  t.equal((await request(a, 'DELETE', `/api/conversations/${removedId}/members/${reader.username}`, { cookie: owner.cookie })).status, 200)

  const mine = (await found(b, reader.cookie, { q: word })).sort()
  t.same(mine, [`${word} in direct`, `${word} in joined-open`, `${word} in private`], 'by default: the conversations the user is a member of, and only those')

  const within = async (id: number) => {
    const res = await search(b, reader.cookie, { q: word, conversation: String(id) })
    return [res.status, res.body.results?.map((r: any) => r.message.text) ?? res.body]
  }
  t.same(await within(publicId), [200, [`${word} in public`]], 'one public conversation the user is not a member of')
  t.same(await within(openId), [200, [`${word} in open`]], 'one open conversation: anyone logged in may read it')
  t.same(await within(directId), [200, [`${word} in direct`]], 'their direct conversation')
  for (const id of [leftId, removedId, foreignId, otherDirectId])
    t.same(await within(id), [404, { status: 'not found' }], `conversation ${id}: not readable, so not found`)

  t.equal((await request(b, 'POST', '/api/blocks', { cookie: reader.cookie, body: { username: owner.username } })).status, 201)
  t.same(await within(directId), [200, [`${word} in direct`]], 'a block stops posting, not reading: the direct conversation is still searched')
  t.equal((await request(b, 'DELETE', `/api/blocks/${owner.username}`, { cookie: reader.cookie })).status, 200)
})

t.test('deleted messages never match; edited ones match their current text', async (t) => {
  const before = newWord('before')
  const after = newWord('after')
  const gone = newWord('gone')
  const id = await create({ title: 'changes', members: [reader.username] })
  const edited = await post(a, owner.cookie, id, `it said ${before}`)
  const deleted = await post(b, owner.cookie, id, `it said ${gone}`)
  t.same(await found(b, reader.cookie, { q: gone }), [`it said ${gone}`])
  t.equal((await request(b, 'DELETE', `/api/conversations/${id}/${deleted}`, { cookie: owner.cookie })).status, 200)
  for (const node of [a, c]) t.same(await found(node, reader.cookie, { q: gone }), [], 'a deleted message is gone from search at once, on every node')
  t.equal((await request(c, 'PATCH', `/api/conversations/${id}/${edited}`, { cookie: owner.cookie, body: { text: `now it says ${after}` } })).status, 200)
  t.same(await found(b, reader.cookie, { q: before }), [], 'the old text no longer matches')
  const res = await search(b, reader.cookie, { q: after })
  t.match(res.body.results, [{ seq: edited, message: { text: `now it says ${after}` } }], 'the new text does')
  t.type(res.body.results[0].message.edited, 'string', 'shown as edited')
})

t.test('newest first and by rank, paged by cursor to the end', async (t) => {
  const word = newWord('comet')
  const id = await create({ title: 'paging', members: [reader.username] })
  const posted: string[] = []
  for (let i = 0; i < 7; i++) {
    const text = i === 2 ? `${word} ${word} ${word} and ${word} again, ${word}` : `message ${i} about ${word} among many other words to make it long`
    await post(i % 2 ? a : b, owner.cookie, id, text)
    posted.push(text)
  }
  const walk = async (order: string) => {
    const seen: any[] = []
    let cursor: string | undefined
    for (let pages = 1; ; pages++) {
      const res = await search(pages % 2 ? a : b, reader.cookie, { q: word, order, limit: '3', ...(cursor && { cursor }) })
      t.equal(res.status, 200)
      seen.push(...res.body.results)
      if (res.body.next === null) {
        t.equal(pages, 3, `${order}: 7 matches in pages of 3, the last ends with next: null`)
        return seen
      }
      t.equal(res.body.results.length, 3)
      cursor = res.body.next
    }
  }
  const newest = await walk('newest')
  t.same(newest.map((r) => r.message.text), [...posted].reverse(), 'newest first, each once')
  const ranked = await walk('rank')
  t.equal(ranked[0].message.text, posted[2], 'by rank, the message that says it most comes first')
  t.same(ranked.map((r) => r.message.text).sort(), [...posted].sort(), 'each once')
  const ranks = ranked.map((r) => r.rank as number)
  t.ok(ranks.every((rank, i) => typeof rank === 'number' && (i === 0 || rank <= (ranks[i - 1] as number))), 'ranks never rise')
  const full = await search(a, reader.cookie, { q: word, limit: '7' })
  t.equal(full.body.next, null, 'a full last page ends with next: null')
})

t.test('matches from days, weeks and months ago: each time slice, and paging across them', async (t) => {
  const word = newWord('glacier')
  const id = await create({ title: 'history', members: [reader.username] })
  const daysAgo = [400, 45, 12, 3, 0, 0]
  const texts = daysAgo.map((days, i) => `${word} ${i} posted ${days} days ago`)
  const seqs: number[] = []
  for (const text of texts) seqs.push(await post(a, owner.cookie, id, text))
  // Back-date the messages (oldest first, as posted) as if they had been posted then: their rows and their time slices.
  const db = new pg.Client({ connectionString: nodes.databaseUrl })
  await db.connect()
  t.teardown(() => db.end())
  for (const [i, days] of daysAgo.entries()) {
    await db.query(`UPDATE messages SET created_at = created_at - make_interval(days => $3) WHERE conversation_id = $1 AND seq = $2`, [id, seqs[i], days])
    await db.query(
      `UPDATE message_search s SET created_at = m.created_at, tsv = message_search_vector(m.text, m.created_at)
         FROM messages m WHERE m.conversation_id = s.conversation_id AND m.seq = s.seq AND s.conversation_id = $1 AND s.seq = $2`,
      [id, seqs[i]],
    )
  }
  const newestFirst = [...texts].reverse()
  const walk = async (q: string, order: string) => {
    const seen: string[] = []
    let cursor: string | undefined
    do {
      const res = await search(a, reader.cookie, { q, order, limit: '1', ...(cursor && { cursor }) })
      t.equal(res.status, 200)
      seen.push(...res.body.results.map((r: any) => r.message.text))
      cursor = res.body.next ?? undefined
    } while (cursor !== undefined && seen.length <= texts.length)
    return seen
  }
  // A quoted query always goes by time slices (the planner's estimate of a phrase is not trusted);
  // a plain one that the planner expects to match rarely, as here, goes to the whole log at once.
  for (const q of [word, `"${word}"`]) {
    t.same(await found(b, reader.cookie, { q, limit: '100' }), newestFirst, `${q}: every match, newest first, however old`)
    t.same(await walk(q, 'newest'), newestFirst, `${q}: one a page, each once, to the end`)
  }
  t.same((await walk(word, 'rank')).sort(), [...texts].sort(), 'ranked over the whole log: each once')
  t.same(
    (await walk(`"${word}"`, 'rank')).sort(),
    texts.slice(4).sort(),
    'ranked by slices: the matches of the latest slice that holds a page (here today, two for a page of one and the next)',
  )
})
