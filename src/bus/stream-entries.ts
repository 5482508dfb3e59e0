import { type ControlMessage, type ConversationSignal, type UserNotice, isControlMessage } from '../protocol/envelopes.js'
import type { EncodedEvent } from '../protocol/events.js'
import type { BusItem } from './bus.js'

/**
 * How items sit in a stream entry. An entry is a run of items, each a run of fields ending with its
 * JSON, so that routing needs no JSON parse:
 * - an event: c (conversation id), s (seq), r (a member it removes; optional), e (its JSON);
 * - a notice: u (user ids, comma-separated), n (its JSON);
 * - a signal: c (conversation id), w (the user it skips), y (its JSON);
 * - a control message: x (its JSON).
 */
export type EntryFields = (string | number)[]

export const eventFields = (event: EncodedEvent): EntryFields =>
  event.removes === undefined
    ? ['c', event.conversationId, 's', event.seq, 'e', event.json]
    : ['c', event.conversationId, 's', event.seq, 'r', event.removes, 'e', event.json]

export const controlFields = (message: ControlMessage): EntryFields => ['x', JSON.stringify(message)]

export const noticeFields = (notice: UserNotice): EntryFields => ['u', notice.userIds.join(','), 'n', notice.json]

export const signalFields = (signal: ConversationSignal): EntryFields => ['c', signal.conversationId, 'w', signal.exceptUserId, 'y', signal.json]

const USER_IDS = /^[1-9][0-9]{0,15}(,[1-9][0-9]{0,15})*$/

/** The entry's items in order, or undefined when the entry is malformed: none of it is used. */
export function decodeEntry(fields: string[]): BusItem[] | undefined {
  const items: BusItem[] = []
  let conversationId = Number.NaN
  let seq = Number.NaN
  let removes: number | undefined
  let userIds: string | undefined
  let except = Number.NaN
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = fields[i + 1] as string
    const field = fields[i]
    if (field === 'c') conversationId = Number(value)
    else if (field === 's') seq = Number(value)
    else if (field === 'r') removes = Number(value)
    else if (field === 'u') userIds = value
    else if (field === 'w') except = Number(value)
    else if (field === 'e') {
      if (!Number.isSafeInteger(conversationId) || !Number.isSafeInteger(seq)) return undefined
      if (removes !== undefined && !Number.isSafeInteger(removes)) return undefined
      items.push({ kind: 'event', event: removes === undefined ? { conversationId, seq, json: value } : { conversationId, seq, removes, json: value } })
      conversationId = seq = Number.NaN
      removes = undefined
    } else if (field === 'n') {
      if (userIds === undefined || !USER_IDS.test(userIds)) return undefined
      items.push({ kind: 'notice', notice: { userIds: userIds.split(',').map(Number), json: value } })
      userIds = undefined
    } else if (field === 'y') {
      if (!Number.isSafeInteger(conversationId) || !Number.isSafeInteger(except)) return undefined
      items.push({ kind: 'signal', signal: { conversationId, exceptUserId: except, json: value } })
      conversationId = except = Number.NaN
    } else if (field === 'x') {
      let message: unknown
      try {
        message = JSON.parse(value)
      } catch {
        return undefined
      }
      if (!isControlMessage(message)) return undefined
      items.push({ kind: 'control', message })
    }
  }
  return items.length > 0 ? items : undefined
}
