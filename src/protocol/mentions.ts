import { MENTIONS_MAX } from './limits.js'

/**
 * The mention rule, one definition for the server (who to notify) and the clients (what to
 * highlight): `@` at the start of the text or after a character that cannot be part of a username
 * (so `bob@example.com` mentions nobody), then a username as registration allows it: 3 to 32 of
 * `A-Z a-z 0-9 _ . -`, starting with a letter or digit. A `.` or `-` that ends the run is punctuation,
 * not part of the name (`@bob.` mentions bob). Names match without regard to case. This module has
 * no dependency but limits.ts, so that the client SDK takes it at no cost.
 */
const MENTION = /(?<![A-Za-z0-9_.@-])@([A-Za-z0-9][A-Za-z0-9_.-]*)/g
const TRAILING_PUNCTUATION = /[.-]+$/
const NAME_MIN = 3
const NAME_MAX = 32

export interface MentionSpan {
  /** Where the `@` is, in UTF-16 code units (a string index). */
  index: number
  /** The length of `@name`, in code units. */
  length: number
  /** The name as written. */
  name: string
}

/** Every mention in the text, in order, as written. */
export function findMentions(text: string): MentionSpan[] {
  const spans: MentionSpan[] = []
  for (const match of text.matchAll(MENTION)) {
    const name = (match[1] as string).replace(TRAILING_PUNCTUATION, '')
    if (name.length >= NAME_MIN && name.length <= NAME_MAX) spans.push({ index: match.index, length: name.length + 1, name })
  }
  return spans
}

/** The distinct names the text mentions, in lower case, the first MENTIONS_MAX of them. */
export function mentionedNames(text: string): string[] {
  return [...new Set(findMentions(text).map((span) => span.name.toLowerCase()))].slice(0, MENTIONS_MAX)
}
