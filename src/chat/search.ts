import { ChatError } from '../errors.js'
import { SEARCH_QUERY_MAX_CHARS, SEARCH_RANK_WINDOW } from '../protocol/limits.js'
import type { SearchResult } from '../protocol/rest.js'
import type { Db } from '../storage/db.js'
import { MARK_END, MARK_START, type NewestPage, type RankedPage, type SearchRow, memberConversationIds, searchMessages } from '../storage/search.js'
import type { AccessCheck } from './access.js'
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

/** The cursor's content: where the next page starts, in the order it was given for. */
type Cursor = { order: 'newest'; before: number } | { order: 'rank'; top: number; rank: number; id: number }

const isId = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) > 0

function encodeCursor(cursor: Cursor): string {
  const fields = cursor.order === 'newest' ? ['n', cursor.before] : ['r', cursor.top, cursor.rank, cursor.id]
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
    const [kind, a, b, c] = fields as unknown[]
    const ofOrder = kind === 'n' ? 'newest' : kind === 'r' ? 'rank' : undefined
    if (ofOrder !== undefined && ofOrder !== order) throw new ChatError('invalid', `cursor belongs to order=${ofOrder}`)
    if (kind === 'n' && fields.length === 2 && isId(a)) return { order: 'newest', before: a }
    if (kind === 'r' && fields.length === 4 && isId(a) && typeof b === 'number' && Number.isFinite(b) && b >= 0 && isId(c))
      return { order: 'rank', top: a, rank: b, id: c }
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

function toResult(row: SearchRow): SearchResult {
  const { text, highlights } = highlightRanges(row.marked)
  // ts_headline gives back the whole text with marks; should it ever not, the match goes without highlights.
  return {
    conversationId: row.conversation_id,
    seq: row.seq,
    message: toMessageView(row),
    highlights: text.length === row.text.length ? highlights : [],
    rank: row.rank,
  }
}

/** Search over the messages a user may read now. */
export function createSearch(deps: { db: Db; access: AccessCheck }) {
  const { db, access } = deps
  return {
    /**
     * One page of matches, newest first or by rank, and the cursor of the next page (null at the end).
     * A ranked search ranks the SEARCH_RANK_WINDOW newest matches.
     */
    async search(userId: number, input: SearchInput): Promise<{ results: SearchResult[]; next: string | null }> {
      const query = checkQuery(input.q)
      const cursor = input.cursor === undefined ? undefined : decodeCursor(input.cursor, input.order)
      const conversationIds =
        input.conversationId === undefined ? await memberConversationIds(db, userId) : [(await access.toRead(input.conversationId, userId)).conversationId]
      const page: NewestPage | RankedPage =
        input.order === 'newest'
          ? { order: 'newest', before: cursor?.order === 'newest' ? cursor.before : undefined }
          : { order: 'rank', window: SEARCH_RANK_WINDOW, ...(cursor?.order === 'rank' && { top: cursor.top, after: { rank: cursor.rank, id: cursor.id } }) }
      const rows = conversationIds.length === 0 ? [] : await searchMessages(db, { query, conversationIds, limit: input.limit + 1, page })
      const more = rows.length > input.limit
      const shown = rows.slice(0, input.limit)
      const last = shown[shown.length - 1]
      let next: string | null = null
      if (more && last) {
        next =
          input.order === 'newest'
            ? encodeCursor({ order: 'newest', before: last.id })
            : encodeCursor({ order: 'rank', top: last.top ?? last.id, rank: last.rank ?? 0, id: last.id })
      }
      return { results: shown.map(toResult), next }
    },
  }
}

export type Search = ReturnType<typeof createSearch>
