import { type RawBuilder, sql } from 'kysely'
import type { Db } from './db.js'

/**
 * Full-text search over the `message_search` side table (migrations/0009): one row per live message,
 * its words as an 'english' tsvector (stems, without stop words such as "the") with lexemes of its
 * day, week and month, under a GIN index. The query is always websearch_to_tsquery's reading of the
 * user's text, never tsquery syntax: `"a phrase"`, `or`, `-word`, and every other character is text.
 */

/** Highlight markers ts_headline puts around each match; the text's own copies are replaced first (same length), so they mark nothing. */
export const MARK_START = '\uE000'
export const MARK_END = '\uE001'

/** A match found in the index: its place, when it was posted, and its rank in a ranked search. */
export interface Hit {
  id: number
  conversation_id: number
  seq: number
  created_at: Date
  rank: number | null
}

/** A match as shown: the message as it is now, and its text with the matched words between MARK_START and MARK_END. */
export interface MatchRow {
  conversation_id: number
  seq: number
  username: string
  text: string
  created_at: Date
  edited_at: Date | null
  marked: string
}

export interface HitRequest {
  query: string
  conversationIds: readonly number[]
  /** The newest this many matches at most, */
  limit: number
  /** from the first time slice that holds this many (limit, unless less), or from `slice`, one that did before. */
  enough: number
  slice?: number
  /** Only matches with an id below this (a later page), posted at `anchor` or before. */
  before?: { id: number; anchor: Date }
  /** Rank the matches found (ts_rank). */
  rank: boolean
}

const DAY_MS = 86_400_000
/**
 * Each slice's time lexemes (migrations/0009 message_search_vector): the latest day, three days, two
 * weeks, two months, then everything (null).
 */
function slices(anchor: Date): (string[] | null)[] {
  const at = anchor.getTime()
  const day = Math.floor(at / DAY_MS)
  const week = Math.floor(at / (7 * DAY_MS))
  const month = Math.floor(at / (30 * DAY_MS))
  return [[`#d${day}`], [`#d${day}`, `#d${day - 1}`, `#d${day - 2}`], [`#w${week}`, `#w${week - 1}`], [`#m${month}`, `#m${month - 1}`], null]
}
/** The index of the last slice, the whole log. */
export const WHOLE_LOG = 4

/** Slices are tried when the whole log is expected to hold this many times the matches wanted. */
const SLICING_PAYS = 4

const tsquery = (query: string) => sql`websearch_to_tsquery('english', ${query})`

/**
 * The newest matches in the given conversations, newest first, and the slice they came from. It asks
 * the GIN index for the matches of the latest day first, then of the latest days, weeks and months,
 * then of the whole log, and stops at the first slice that holds `enough` of them: each slice runs
 * from its start to `anchor` (now, or the previous page's last match), so its newest matches are the
 * newest of all. The index hands over only the candidates of a slice, so a common word reads few
 * rows. A query the planner expects to match rarely goes to the whole log at once (expectFew). The
 * tsquery is written out (not a CTE) so that the planner sees it as a constant.
 */
export async function findHits(db: Db, request: HitRequest): Promise<{ hits: Hit[]; slice: number }> {
  const { query, conversationIds, limit, enough, before, rank } = request
  const ids = sql`${[...conversationIds]}::int8[]`
  const all = slices(before?.anchor ?? new Date())
  const first = request.slice ?? ((await expectFew(db, query, ids, enough)) ? WHOLE_LOG : 0)
  for (let index = first; index <= WHOLE_LOG; index++) {
    const slice = all[index] ?? null
    const within = slice === null ? sql`` : sql`AND s.tsv @@ ${slice.map((lexeme) => `'${lexeme}'`).join(' | ')}::tsquery`
    const rows = await sql<Hit & { tsv?: string }>`
      SELECT h.id, h.conversation_id, h.seq, h.created_at, ${rank ? sql`ts_rank(h.tsv, ${tsquery(query)})` : sql`NULL::float4`} AS rank
        FROM (SELECT s.id, s.conversation_id, s.seq, s.created_at, s.tsv
                FROM message_search s
               WHERE s.tsv @@ ${tsquery(query)} ${within}
                 AND s.conversation_id = ANY(${ids}) AND s.id < ${before?.id ?? Number.MAX_SAFE_INTEGER}
               ORDER BY s.id DESC LIMIT ${limit}) h
       ORDER BY h.id DESC`.execute(db)
    if (rows.rows.length >= enough || slice === null || request.slice !== undefined) return { hits: rows.rows, slice: index }
  }
  return { hits: [], slice: WHOLE_LOG }
}

/**
 * Whether the planner expects the whole log to hold fewer than SLICING_PAYS × `wanted` matches (from
 * the index's statistics of each word): slices would then only cost index scans that find too few.
 * Its estimate of a phrase assumes its words independent, and they are not ("let me know"), so a
 * query with one (quoted text) always goes by slices.
 */
async function expectFew(db: Db, query: string, ids: RawBuilder<unknown>, wanted: number): Promise<boolean> {
  if (query.includes('"')) return false
  const plan = await sql<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }>`
    EXPLAIN (FORMAT JSON) SELECT 1 FROM message_search s WHERE s.tsv @@ ${tsquery(query)} AND s.conversation_id = ANY(${ids})`.execute(db)
  return (plan.rows[0]?.['QUERY PLAN'][0].Plan['Plan Rows'] ?? 0) < SLICING_PAYS * wanted
}

/** The messages of these hits as they are now, with their matches marked for `query`; in no particular order. */
export async function readMatches(db: Db, query: string, hits: readonly Hit[]): Promise<MatchRow[]> {
  if (hits.length === 0) return []
  const result = await sql<MatchRow>`
    SELECT m.conversation_id, m.seq, u.username, m.text, m.created_at, m.edited_at,
           ts_headline('english', translate(m.text, ${MARK_START + MARK_END}, E'\\uFFFD\\uFFFD'), ${tsquery(query)},
                       ${`HighlightAll=true, StartSel=${MARK_START}, StopSel=${MARK_END}`}) AS marked
      FROM unnest(${hits.map((h) => h.conversation_id)}::int8[], ${hits.map((h) => h.seq)}::int8[]) AS h(conversation_id, seq)
      JOIN messages m ON m.conversation_id = h.conversation_id AND m.seq = h.seq
      JOIN users u ON u.id = m.author_id`.execute(db)
  return result.rows
}

/** The conversations a user is a member of. */
export async function memberConversationIds(db: Db, userId: number): Promise<number[]> {
  const rows = await db.selectFrom('memberships').select('conversation_id').where('user_id', '=', userId).execute()
  return rows.map((row) => row.conversation_id)
}
