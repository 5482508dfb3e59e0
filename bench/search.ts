/**
 * npm run bench:search [-- --messages 1000000 --conversations 10000 --member-of 1000 --runs 60 --keep --reuse <database>]
 *
 * GET /api/search over a log of `messages` messages in `conversations` conversations, for a user who
 * is a member of `member-of` of them, through one real node on the local Postgres (or DATABASE_URL).
 *
 * 1. Writes the corpus (bench/search-corpus.ts) into a fresh database migrated up to just before
 *    0009_search, and times append_messages there (one post per call, and 64 per call).
 * 2. Applies 0009_search to the full table (the migration's cost on an existing log), and times the
 *    same appends again: the write path's cost of keeping the search table.
 * 3. Starts a node, registers the searching user, makes them a member of every tenth conversation,
 *    and times each kind of query (single words of three frequencies, two words, phrases, one
 *    conversation), newest first and ranked, `runs` times each query after one warm-up pass.
 *    Prints p50 / p99 per kind and the p99 over all of them; the target is p99 ≤ 50 ms.
 *
 * `--keep` leaves the database behind and prints its name; `--reuse <database>` skips steps 1 and 2.
 */
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { FileMigrationProvider, Migrator, sql } from 'kysely'
import { Redis } from 'ioredis'
import { request } from 'undici'
import { freePort, spawnNode, stopNodes } from '../deploy/spawn-node.js'
import { generateSigningJwk } from '../src/auth/signing-keys.js'
import { type Db, createDb, ensureDatabase } from '../src/storage/db.js'
import { dropDatabase, withDatabase } from '../test/helpers/isolation.js'
import { latencyHistogram } from './latency.js'
import { PHRASES, VOCABULARY, writeCorpus } from './search-corpus.js'

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '1000000' },
    conversations: { type: 'string', default: '10000' },
    'member-of': { type: 'string', default: '1000' },
    runs: { type: 'string', default: '60' },
    keep: { type: 'boolean', default: false },
    reuse: { type: 'string' },
  },
})
const size = { messages: Number(values.messages), conversations: Number(values.conversations), users: 200 }
const memberOf = Number(values['member-of'])
const runs = Number(values.runs)

const server = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres'
const name = values.reuse ?? `chat_bench_search_${Date.now().toString(36)}`
const databaseUrl = withDatabase(server, name)
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379'
const migrationFolder = fileURLToPath(new URL('../migrations', import.meta.url))
const SEARCH_MIGRATION = '0009_search'

const seconds = (start: number) => `${((performance.now() - start) / 1000).toFixed(1)} s`
const ms = (us: number) => (us / 1000).toFixed(1)

/** p50 and p99 of `calls` calls of append_messages with `perCall` posts each, in ms. */
async function timeAppends(db: Db, calls: number, perCall: number): Promise<string> {
  const { first } = (await sql<{ first: number }>`SELECT min(id) AS first FROM conversations`.execute(db)).rows[0] as { first: number }
  const { author } = (await sql<{ author: number }>`SELECT min(id) AS author FROM users`.execute(db)).rows[0] as { author: number }
  const histogram = latencyHistogram()
  for (let call = 0; call < calls; call++) {
    // Open conversations (every sixth is one: search-corpus.ts), where anyone may post.
    const conversations = Array.from({ length: perCall }, (_, i) => first + 3 + 6 * ((call * perCall + i) % 1000))
    const texts = conversations.map((_, i) => `appended ${call} ${i} ${VOCABULARY[40 + ((call + i) % 500)]} ${VOCABULARY[2000 + i]} let me know`)
    const start = performance.now()
    await sql`SELECT * FROM append_messages(${conversations}::int8[], ${conversations.map(() => author)}::int8[], ${texts}::text[], ${texts.map(() => null)}::text[])`.execute(db)
    histogram.recordValue(Math.max(1, Math.round((performance.now() - start) * 1000)))
  }
  return `${perCall} post(s) per call, ${calls} calls: p50 ${ms(histogram.getValueAtPercentile(50))} ms, p99 ${ms(histogram.getValueAtPercentile(99))} ms`
}

async function prepare(): Promise<void> {
  await ensureDatabase(databaseUrl)
  const db = createDb(databaseUrl, { onIdleError: () => {}, max: 1 })
  try {
    const migrator = new Migrator({ db, provider: new FileMigrationProvider({ fs, path, migrationFolder }) })
    const names = (await migrator.getMigrations()).map((m) => m.name)
    const before = names[names.indexOf(SEARCH_MIGRATION) - 1] as string
    const migrated = await migrator.migrateTo(before)
    if (migrated.error) throw migrated.error
    let start = performance.now()
    await writeCorpus(db, size)
    console.log(`corpus: ${size.messages} messages in ${size.conversations} conversations written in ${seconds(start)}`)
    console.log(`append_messages before ${SEARCH_MIGRATION}: ${await timeAppends(db, 300, 1)}; ${await timeAppends(db, 50, 64)}`)
    start = performance.now()
    const searchMigrated = await migrator.migrateTo(SEARCH_MIGRATION)
    if (searchMigrated.error) throw searchMigrated.error
    console.log(`${SEARCH_MIGRATION} on the existing log: ${seconds(start)}`)
    console.log(`append_messages after ${SEARCH_MIGRATION}: ${await timeAppends(db, 300, 1)}; ${await timeAppends(db, 50, 64)}`)
    const latest = await migrator.migrateToLatest()
    if (latest.error) throw latest.error
  } finally {
    await db.destroy()
  }
}

interface Kind {
  name: string
  queries: string[]
  order: 'newest' | 'rank'
  conversation?: number
}

/** A kept database made before later migrations were added: they are applied out of order, as only a bench may. */
async function catchUp(): Promise<void> {
  const db = createDb(databaseUrl, { onIdleError: () => {}, max: 1 })
  try {
    const migrated = await new Migrator({ db, provider: new FileMigrationProvider({ fs, path, migrationFolder }), allowUnorderedMigrations: true }).migrateToLatest()
    if (migrated.error) throw migrated.error
  } finally {
    await db.destroy()
  }
}

async function main() {
  await (values.reuse === undefined ? prepare() : catchUp())
  const db = createDb(databaseUrl, { onIdleError: () => {}, max: 2 })
  const node = await spawnNode(await freePort(), {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: `${name}:`,
    LOG_LEVEL: 'warn',
    // The bench migrated the database itself (a kept one out of order: catchUp).
    MIGRATE_ON_START: 'false',
    JWT_KEYS: JSON.stringify([await generateSigningJwk()]),
    RATE_LIMIT_REGISTER_IP: 'off',
  })
  try {
    const username = `searcher${Date.now().toString(36)}`
    const registered = await request(`${node.url}/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username }) })
    await registered.body.dump()
    const cookie = String(registered.headers['set-cookie']).split(';')[0] as string
    const { userId } = (await sql<{ userId: number }>`SELECT id AS "userId" FROM users WHERE username = ${username}`.execute(db)).rows[0] as { userId: number }
    await sql`INSERT INTO memberships (conversation_id, user_id)
              SELECT id, ${userId} FROM conversations WHERE id % ${Math.round(size.conversations / memberOf)} = 0
              ORDER BY id LIMIT ${memberOf}`.execute(db)
    const { member, scope } = (
      await sql<{ member: number; scope: number }>`
        SELECT count(*)::int AS member, (SELECT count(*)::int FROM message_search s JOIN memberships m ON m.conversation_id = s.conversation_id AND m.user_id = ${userId}) AS scope
          FROM memberships WHERE user_id = ${userId}`.execute(db)
    ).rows[0] as { member: number; scope: number }
    const { total } = (await sql<{ total: number }>`SELECT count(*)::int AS total FROM message_search`.execute(db)).rows[0] as { total: number }
    console.log(`the searching user is a member of ${member} conversations holding ${scope} of the ${total} live messages`)

    const frequency = async (word: string) =>
      ((await sql<{ n: number }>`SELECT count(*)::int AS n FROM message_search WHERE tsv @@ websearch_to_tsquery('english', ${word})`.execute(db)).rows[0] as { n: number }).n
    const word = (rank: number) => VOCABULARY[rank - 1] as string
    const common = ['meeting', 'deploy', 'code'].filter((w) => VOCABULARY.includes(w))
    const middle = [300, 1000, 3000].map(word)
    const rare = [9000, 14000, 19000].map(word)
    for (const [label, words] of [['common', common], ['middle', middle], ['rare', rare]] as const) {
      const counts = await Promise.all(words.map(frequency))
      console.log(`${label} words: ${words.map((w, i) => `${w} (${counts[i]} messages, ${((100 * (counts[i] as number)) / total).toFixed(2)} %)`).join(', ')}`)
    }
    const twoWords = [`${common[0]} ${common[1]}`, `${common[2]} ${middle[0]}`, `${middle[0]} ${middle[1]}`, `${common[0]} ${rare[0]}`]
    const phrases = PHRASES.slice(0, 5).map((p) => `"${p}"`)
    const { busiest } = (
      await sql<{ busiest: number }>`SELECT m.conversation_id AS busiest FROM memberships m JOIN conversations c ON c.id = m.conversation_id
                                     WHERE m.user_id = ${userId} ORDER BY c.message_count DESC LIMIT 1`.execute(db)
    ).rows[0] as { busiest: number }
    const kinds: Kind[] = []
    for (const order of ['newest', 'rank'] as const) {
      kinds.push(
        { name: `common word, ${order}`, queries: common, order },
        { name: `middle word, ${order}`, queries: middle, order },
        { name: `rare word, ${order}`, queries: rare, order },
        { name: `two words, ${order}`, queries: twoWords, order },
        { name: `phrase, ${order}`, queries: phrases, order },
        { name: `one conversation, ${order}`, queries: [...common, middle[0] as string, phrases[0] as string], order, conversation: busiest },
      )
    }

    const search = async (kind: Kind, q: string): Promise<number> => {
      const params = new URLSearchParams({ q, order: kind.order, ...(kind.conversation !== undefined && { conversation: String(kind.conversation) }) })
      const start = performance.now()
      const res = await request(`${node.url}/api/search?${params}`, { headers: { cookie } })
      const body = (await res.body.json()) as { results: unknown[] }
      const took = performance.now() - start
      if (res.statusCode !== 200) throw new Error(`${q}: ${res.statusCode} ${JSON.stringify(body)}`)
      return took
    }
    for (const kind of kinds) for (const q of kind.queries) await search(kind, q)
    const overall = latencyHistogram()
    console.log(`\n| kind | queries × runs | p50 ms | p99 ms | max ms |\n| --- | --- | --- | --- | --- |`)
    for (const kind of kinds) {
      const histogram = latencyHistogram()
      for (let run = 0; run < runs; run++)
        for (const q of kind.queries) {
          const us = Math.max(1, Math.round((await search(kind, q)) * 1000))
          histogram.recordValue(us)
          overall.recordValue(us)
        }
      console.log(`| ${kind.name} | ${kind.queries.length} × ${runs} | ${ms(histogram.getValueAtPercentile(50))} | ${ms(histogram.getValueAtPercentile(99))} | ${ms(histogram.maxValue)} |`)
    }
    const p99 = overall.getValueAtPercentile(99) / 1000
    console.log(`| **all** | ${overall.totalCount} | ${ms(overall.getValueAtPercentile(50))} | **${p99.toFixed(1)}** | ${ms(overall.maxValue)} |`)
    const settings = (await sql<{ name: string; setting: string }>`SELECT name, current_setting(name) AS setting FROM pg_settings WHERE name IN ('shared_buffers', 'work_mem', 'effective_cache_size', 'server_version')`.execute(db)).rows
    console.log(`\nPostgres: ${settings.map((s) => `${s.name} ${s.setting}`).join(', ')}`)
    console.log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (other work on the machine shares these cores)`)
    console.log(p99 <= 50 ? 'target met: p99 ≤ 50 ms' : `target missed: p99 ${p99.toFixed(1)} ms > 50 ms`)
  } finally {
    await stopNodes([node])
    await db.destroy()
    const redis = new Redis(redisUrl)
    const keys = await redis.keys(`${name}:*`)
    if (keys.length > 0) await redis.del(...keys)
    await redis.quit()
    if (values.keep || values.reuse !== undefined) console.log(`database kept: ${name}`)
    else await dropDatabase(withDatabase(server, 'postgres'), name)
  }
}

await main()
