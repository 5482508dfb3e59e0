import { type ChatClient, SEARCH_QUERY_MAX_CHARS, type SearchResult } from '@chat-cluster/client'
import { byId, el, excerpt, whileBusy } from './dom.js'
import { explain, showError } from './status.js'

/** The message's text with its matches in <mark>: each part a text node, so nothing in it becomes markup. */
export function highlighted(text: string, highlights: readonly { start: number; end: number }[]): (Node | string)[] {
  const parts: (Node | string)[] = []
  let at = 0
  for (const { start, end } of highlights) {
    if (start < at || end > text.length) continue
    if (start > at) parts.push(text.slice(at, start))
    parts.push(el('mark', {}, text.slice(start, end)))
    at = end
  }
  if (at < text.length) parts.push(text.slice(at))
  return parts
}

/**
 * Searching the messages the user may read: a query, newest or best first, the results with their
 * matches marked, more on demand; choosing one opens its conversation at the message.
 */
export class SearchPanel {
  private readonly form = byId('search', HTMLFormElement)
  private readonly field = byId('search-query', HTMLInputElement)
  private readonly order = byId('search-order', HTMLSelectElement)
  private readonly status = byId('search-status', HTMLParagraphElement)
  private readonly results = byId('search-results', HTMLOListElement)
  private readonly more = byId('search-more', HTMLButtonElement)
  private next: string | null = null
  private asked: { q: string; order: 'newest' | 'rank' } | undefined

  constructor(
    private readonly client: ChatClient,
    private readonly context: { titleOf(conversationId: number): string; open(conversationId: number, title: string, seq: number): void },
    signal: AbortSignal,
  ) {
    this.form.addEventListener('submit', (event) => (event.preventDefault(), void this.search()), { signal })
    this.more.addEventListener('click', () => void this.page(), { signal })
    signal.addEventListener('abort', () => this.clear())
  }

  private clear(): void {
    this.results.replaceChildren()
    this.status.textContent = ''
    this.more.hidden = true
    this.next = null
  }

  private async search(): Promise<void> {
    const q = this.field.value
    showError('search-error', undefined, this.field)
    if (!q.trim()) return showError('search-error', 'Enter something to search for.', this.field)
    if (q.length > SEARCH_QUERY_MAX_CHARS) return showError('search-error', `At most ${SEARCH_QUERY_MAX_CHARS} characters.`, this.field)
    this.clear()
    this.asked = { q, order: this.order.value === 'rank' ? 'rank' : 'newest' }
    await whileBusy(this.form, () => this.page())
  }

  private async page(): Promise<void> {
    if (!this.asked) return
    try {
      const { results, next } = await this.client.api.search(this.asked.q, { order: this.asked.order, ...(this.next !== null && { cursor: this.next }) })
      this.results.append(...results.map((result) => this.item(result)))
      this.next = next
      this.more.hidden = next === null
      const shown = this.results.childElementCount
      this.status.textContent = shown === 0 ? 'Nothing found.' : `${shown} result${shown === 1 ? '' : 's'}${next === null ? '' : ' so far'}.`
    } catch (err) {
      showError('search-error', explain(err), this.field)
    }
  }

  private item(result: SearchResult): HTMLLIElement {
    const title = this.context.titleOf(result.conversationId)
    const { user, text, timestamp } = result.message
    return el(
      'li',
      { class: 'search-result', attrs: { 'data-conversation': result.conversationId, 'data-seq': result.seq } },
      el(
        'button',
        {
          class: 'link',
          attrs: { type: 'button', 'aria-label': `Open ${excerpt(title)} at ${user}'s message` },
          on: { click: () => this.context.open(result.conversationId, title, result.seq) },
        },
        `${title} · ${user} · ${new Date(timestamp).toLocaleString()}`,
      ),
      el('p', { class: 'search-text' }, ...highlighted(text, result.highlights)),
    )
  }
}
