import { sql } from 'kysely'
import type { Db } from './db.js'

/**
 * Full-text search over the `message_search` side table (migrations/0009): one row per live message,
 * its words as an 'english' tsvector (stems, without stop words such as "the"), under a GIN index.
 * The query is always websearch_to_tsquery's reading of the user's text, never tsquery syntax:
 * `"a phrase"`, `or`, `-word`, and every other character is only text.
 */

/** Highlight markers ts_headline puts around each match; the text's own copies are replaced first (same length), so they mark nothing. */
export const MARK_START = '\uE000'
export const MARK_END = '\uE001'

/** A match: the message as it is now, and its text with the matched words between MARK_START and MARK_END. */
export interface SearchRow {
  id: number
  conversation_id: number
  seq: number
  rank: number | null
  /** In a ranked search: the newest match's id, where the ranked window ends. */
  top: number | null
  username: string
  text: string
  created_at: Date
  edited_at: Date | null
  marked: string
}

/** Newest first, from below `before` (a match's id) when given. */
export interface NewestPage {
  order: 'newest'
  before?: number
}

/**
 * By rank, among the `window` newest matches with an id up to `top` (so that later pages rank the same
 * matches), from below `after` in (rank, id) order when given. Ranks are float4, as ts_rank gives them:
 * Postgres writes them in the fewest digits that read back as the same float4, so a rank that went
 * through JSON compares equal again once read as a float4.
 */
export interface RankedPage {
  order: 'rank'
  window: number
  top?: number
  after?: { rank: number; id: number }
}

export interface SearchRequest {
  query: string
  conversationIds: readonly number[]
  limit: number
  page: NewestPage | RankedPage
}

const tsquery = (query: string) => sql`websearch_to_tsquery('english', ${query})`

/** The matches of one page, in order. The tsquery is written out in each place (not a CTE) so that the planner sees it as a constant and estimates with the index's statistics. */
export async function searchMessages(db: Db, request: SearchRequest): Promise<SearchRow[]> {
  const { query, conversationIds, limit, page } = request
  const ids = sql`${[...conversationIds]}::int8[]`
  const hits =
    page.order === 'newest'
      ? sql`
          SELECT s.id, s.conversation_id, s.seq, NULL::float4 AS rank, NULL::int8 AS top
            FROM message_search s
           WHERE s.tsv @@ ${tsquery(query)} AND s.conversation_id = ANY(${ids})
             AND s.id < ${page.before ?? Number.MAX_SAFE_INTEGER}
           ORDER BY s.id DESC LIMIT ${limit}`
      : sql`
          SELECT w.id, w.conversation_id, w.seq, w.rank, w.top
            FROM (SELECT n.id, n.conversation_id, n.seq, ts_rank(n.tsv, ${tsquery(query)}) AS rank,
                         max(n.id) OVER () AS top
                    FROM (SELECT s.id, s.conversation_id, s.seq, s.tsv
                            FROM message_search s
                           WHERE s.tsv @@ ${tsquery(query)} AND s.conversation_id = ANY(${ids})
                             AND s.id <= ${page.top ?? Number.MAX_SAFE_INTEGER}
                           ORDER BY s.id DESC LIMIT ${page.window}) n) w
           WHERE (w.rank, w.id) < (${page.after?.rank ?? 'Infinity'}::float4, ${page.after?.id ?? Number.MAX_SAFE_INTEGER}::int8)
           ORDER BY w.rank DESC, w.id DESC LIMIT ${limit}`
  const result = await sql<SearchRow>`
    SELECT h.id, h.conversation_id, h.seq, h.rank, h.top, u.username, m.text, m.created_at, m.edited_at,
           ts_headline('english', translate(m.text, ${MARK_START + MARK_END}, E'\\uFFFD\\uFFFD'), ${tsquery(query)},
                       ${`HighlightAll=true, StartSel=${MARK_START}, StopSel=${MARK_END}`}) AS marked
      FROM (${hits}) h
      JOIN messages m ON m.conversation_id = h.conversation_id AND m.seq = h.seq
      JOIN users u ON u.id = m.author_id
     ORDER BY h.rank DESC NULLS LAST, h.id DESC`.execute(db)
  return result.rows
}

/** The conversations a user is a member of. */
export async function memberConversationIds(db: Db, userId: number): Promise<number[]> {
  const rows = await db.selectFrom('memberships').select('conversation_id').where('user_id', '=', userId).execute()
  return rows.map((row) => row.conversation_id)
}
