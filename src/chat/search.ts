import { ChatError } from '../errors.js'
import { SEARCH_QUERY_MAX_CHARS, SEARCH_RANK_WINDOW } from '../protocol/limits.js'
import type { SearchResult } from '../protocol/rest.js'
import type { Db } from '../storage/db.js'
import { type Hit, MARK_END, MARK_START, type MatchRow, WHOLE_LOG, findHits, memberConversationIds, readMatches } from '../storage/search.js'
import type { AccessCheck } from './access.js'
import { pageOf, rowsToRead } from './pages.js'
import { toMessageView } from './views.js'

export type SearchOrder = 'newest' | 'rank'

export interface SearchInput {
  q: string | undefined
  /** One conversation the user may read; without it, the conversations the user is a member of. */
  conversationId?: number
  order: SearchOrder
  limit: number
  cursor?: string
}

/** The query text, or a 400 that says what is wrong with it. */
function checkQuery(q: string | undefined): string {
  if (q === undefined || q.trim() === '') throw new ChatError('invalid', 'q must hold something to search for')
  if (q.length > SEARCH_QUERY_MAX_CHARS) throw new ChatError('invalid', `q must be at most ${SEARCH_QUERY_MAX_CHARS} characters`)
  if (q.includes('\0')) throw new ChatError('invalid', 'q must not contain NUL characters')
  return q
}

/**
 * The cursor's content: where the next page starts, in the order it was given for. `at` is the time
 * (ms) of the newest match the next page may show, where the search's time slices start.
 */
type Cursor = { order: 'newest'; before: number; at: number } | { order: 'rank'; top: number; at: number; slice: number; rank: number; id: number }

const isId = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) > 0

function encodeCursor(cursor: Cursor): string {
  const fields = cursor.order === 'newest' ? ['n', cursor.before, cursor.at] : ['r', cursor.top, cursor.at, cursor.slice, cursor.rank, cursor.id]
  return Buffer.from(JSON.stringify(fields)).toString('base64url')
}

function decodeCursor(raw: string, order: SearchOrder): Cursor {
  let fields: unknown
  try {
    fields = JSON.parse(Buffer.from(raw, 'base64url').toString())
  } catch {
    fields = undefined
  }
  if (Array.isArray(fields)) {
    const [kind, a, at, slice, rank, id] = fields as unknown[]
    const ofOrder = kind === 'n' ? 'newest' : kind === 'r' ? 'rank' : undefined
    if (ofOrder !== undefined && ofOrder !== order) throw new ChatError('invalid', `cursor belongs to order=${ofOrder}`)
    if (isId(a) && isId(at)) {
      if (kind === 'n' && fields.length === 3) return { order: 'newest', before: a, at }
      const isSlice = Number.isSafeInteger(slice) && (slice as number) >= 0 && (slice as number) <= WHOLE_LOG
      if (kind === 'r' && fields.length === 6 && isSlice && typeof rank === 'number' && Number.isFinite(rank) && rank >= 0 && isId(id))
        return { order: 'rank', top: a, at, slice: slice as number, rank, id }
    }
  }
  throw new ChatError('invalid', 'cursor is not one this server gave')
}

/** [start, end) offsets, in UTF-16 code units, of each marked match in the text once the marks are taken out. */
export function highlightRanges(marked: string): { text: string; highlights: { start: number; end: number }[] } {
  const highlights: { start: number; end: number }[] = []
  let text = ''
  let start = -1
  for (const char of marked) {
    if (char === MARK_START) start = text.length
    else if (char === MARK_END) {
      if (start >= 0 && text.length > start) highlights.push({ start, end: text.length })
      start = -1
    } else text += char
  }
  return { text, highlights }
}

function toResult(hit: Hit, row: MatchRow): SearchResult {
  const { text, highlights } = highlightRanges(row.marked)
  // ts_headline gives back the whole text with marks; should it ever not, the match goes without highlights.
  return {
    conversationId: row.conversation_id,
    seq: row.seq,
    message: toMessageView(row),
    highlights: text.length === row.text.length ? highlights : [],
    rank: hit.rank,
  }
}

/** Later than a match's own time by this, so that a match posted in the same instant on another conversation is not left out of a slice. */
const ANCHOR_SLACK_MS = 1000
/** Best rank first, then newest: negative when `a` comes before `b`. */
const byRank = (a: Pick<Hit, 'rank' | 'id'>, b: Pick<Hit, 'rank' | 'id'>) => (b.rank ?? 0) - (a.rank ?? 0) || b.id - a.id

/** Search over the messages a user may read now. */
export function createSearch(deps: { db: Db; access: AccessCheck }) {
  const { db, access } = deps

  /** One page newest first, and the cursor of the next. */
  async function newest(query: string, conversationIds: number[], limit: number, cursor: Cursor | undefined) {
    const before = cursor?.order === 'newest' ? { id: cursor.before, anchor: new Date(cursor.at) } : undefined
    const { hits } = await findHits(db, { query, conversationIds, limit: rowsToRead(limit), enough: rowsToRead(limit), before, rank: false })
    const { rows: page, next } = pageOf(hits, limit, (last) => encodeCursor({ order: 'newest', before: last.id, at: last.created_at.getTime() + ANCHOR_SLACK_MS }))
    return { page, next }
  }

  /**
   * One page by rank among the newest matches: those of the first time slice that holds a page of
   * them, SEARCH_RANK_WINDOW at most (the same window on every page), and the cursor of the next.
   */
  async function ranked(query: string, conversationIds: number[], limit: number, cursor: Cursor | undefined) {
    const later = cursor?.order === 'rank' ? cursor : undefined
    const before = later && { id: later.top + 1, anchor: new Date(later.at) }
    const { hits: window, slice } = await findHits(db, { query, conversationIds, limit: SEARCH_RANK_WINDOW, enough: limit + 1, before, slice: later?.slice, rank: true })
    const rest = window.sort(byRank).filter((hit) => later === undefined || byRank(later, hit) < 0)
    const page = rest.slice(0, limit)
    const top = window.reduce<Hit | undefined>((newest, hit) => (newest === undefined || hit.id > newest.id ? hit : newest), undefined)
    const last = page[page.length - 1]
    const next =
      rest.length > limit && last && top
        ? encodeCursor({ order: 'rank', top: top.id, at: later?.at ?? top.created_at.getTime() + ANCHOR_SLACK_MS, slice, rank: last.rank ?? 0, id: last.id })
        : null
    return { page, next }
  }

  return {
    /**
     * One page of matches, newest first or by rank, and the cursor of the next page (null at the end).
     * A ranked search ranks the newest matches (ranked()).
     */
    async search(userId: number, input: SearchInput): Promise<{ results: SearchResult[]; next: string | null }> {
      const query = checkQuery(input.q)
      const cursor = input.cursor === undefined ? undefined : decodeCursor(input.cursor, input.order)
      const conversationIds =
        input.conversationId === undefined ? await memberConversationIds(db, userId) : [(await access.toRead(input.conversationId, userId)).conversationId]
      if (conversationIds.length === 0) return { results: [], next: null }
      const { page, next } = await (input.order === 'newest' ? newest : ranked)(query, conversationIds, input.limit, cursor)
      const rows = new Map((await readMatches(db, query, page)).map((row) => [`${row.conversation_id}:${row.seq}`, row]))
      // A match deleted between the two reads is left out.
      const results = page.flatMap((hit) => {
        const row = rows.get(`${hit.conversation_id}:${hit.seq}`)
        return row ? [toResult(hit, row)] : []
      })
      return { results, next }
    },
  }
}

export type Search = ReturnType<typeof createSearch>
