import { REPLY_QUOTE_CHARS } from './limits.js'

/**
 * The start of a message's text as a reply's quote and a mention notice show it: REPLY_QUOTE_CHARS
 * code points, then `…` if there is more. No dependency but limits.ts, so that clients that update a
 * quote after an edit cut it the same way.
 */
export function quoteOf(text: string): string {
  const chars = [...text]
  return chars.length > REPLY_QUOTE_CHARS ? chars.slice(0, REPLY_QUOTE_CHARS).join('') + '…' : text
}
