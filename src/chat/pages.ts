/**
 * Cursor paging, one rule for every listing (members, the inbox, admin's users, replies, newest-first
 * search): a page of `limit` rows is read as `rowsToRead(limit)` rows, one more, which is never shown
 * and only says that more follow. `next` is the cursor after the page's last row, or null on the
 * last page, full or not, so that no client asks for an empty page.
 */
export const rowsToRead = (limit: number): number => limit + 1

export function pageOf<Row>(rows: readonly Row[], limit: number, cursorAfter: (row: Row) => string): { rows: Row[]; next: string | null } {
  const page = rows.slice(0, limit)
  const last = page[page.length - 1]
  return { rows: page, next: rows.length > limit && last !== undefined ? cursorAfter(last) : null }
}
