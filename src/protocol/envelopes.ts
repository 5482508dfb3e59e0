/**
 * What nodes hand each other through the bus besides conversation events (events.ts): frames for
 * some users' sockets, frames for a conversation's subscribers that are not stored, and messages
 * about the cluster itself. Each carries its frame serialised once, by the node that published it.
 */

/**
 * A frame for every socket of some users, wherever they are connected (read markers, receipts,
 * conversations added or removed, presence). Not stored: a client that was away reads the state over REST.
 */
export interface UserNotice {
  userIds: number[]
  json: string
}

/** A frame for a conversation's subscribers at this moment, except one user's sockets (typing). Not stored, no seq. */
export interface ConversationSignal {
  conversationId: number
  exceptUserId: number
  json: string
}

/** Messages about the cluster rather than a conversation, read by every node like events. */
export type ControlMessage = {
  /** These sessions ended (logout, revocation, a disabled or deleted user): forget them and close their sockets. */
  type: 'sessions.revoked'
  sessionIds: number[]
}

export const isControlMessage = (value: unknown): value is ControlMessage =>
  typeof value === 'object' &&
  value !== null &&
  (value as ControlMessage).type === 'sessions.revoked' &&
  Array.isArray((value as ControlMessage).sessionIds) &&
  (value as ControlMessage).sessionIds.every(Number.isSafeInteger)
