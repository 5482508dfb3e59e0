import { TEXT_MAX_CHARS, TITLE_MAX_CHARS } from '@chat-cluster/client'
import { count } from './dom.js'

/**
 * The server's rules for text (docs/api.md), checked before anything is sent so that the person
 * learns at once what to change. Lengths count Unicode code points, as the server does.
 */

const length = (text: string) => [...text].length

export function messageProblem(text: string): string | undefined {
  if (text.trim() === '') return 'Write a message first: it cannot be empty.'
  const chars = length(text)
  if (chars > TEXT_MAX_CHARS)
    return `A message can be at most ${count(TEXT_MAX_CHARS)} characters; this one has ${count(chars)}. Shorten it by ${count(chars - TEXT_MAX_CHARS)}.`
  return undefined
}

export function titleProblem(title: string): string | undefined {
  if (title.trim() === '') return 'Give the conversation a title.'
  const chars = length(title)
  if (chars > TITLE_MAX_CHARS) return `A title can be at most ${count(TITLE_MAX_CHARS)} characters; this one has ${count(chars)}.`
  return undefined
}

/** How much room is left, for the counter under a message box. */
export function roomLeft(text: string): { text: string; over: boolean } {
  const chars = length(text)
  return { text: `${count(chars)} / ${count(TEXT_MAX_CHARS)} characters`, over: chars > TEXT_MAX_CHARS }
}
