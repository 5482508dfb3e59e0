import type { BenchUser } from './fixtures.js'
import type { Lane, SocketSpec } from './ipc.js'

/** How the scale bench places its conversations' members on the nodes. */
export interface ScaleShape {
  conversations: number
  /** Sockets (users, one socket each) subscribed to each conversation. */
  members: number
  /** On how many nodes each conversation's members sit. */
  spread: number
}

export const usersNeeded = (shape: ScaleShape): number => shape.conversations * shape.members

/**
 * Member j of conversation c is user j × conversations + c (so that the first members, who post,
 * have keys 0…conversations−1, which puts each lane's socket in the load process that posts for it)
 * on node (c + (j mod spread) × stride) mod nodes, stride = ⌊nodes / spread⌋: its members sit on
 * `spread` distinct nodes (when spread ≤ nodes), and each node holds subscribers of about
 * spread / nodes of the conversations.
 */
export function placeSockets(urls: readonly string[], users: readonly BenchUser[], conversationIds: readonly number[], shape: ScaleShape): SocketSpec[] {
  const stride = Math.max(1, Math.floor(urls.length / shape.spread))
  return Array.from({ length: usersNeeded(shape) }, (_, key) => {
    const c = key % shape.conversations
    const j = Math.floor(key / shape.conversations)
    return {
      key,
      url: urls[(c + (j % shape.spread) * stride) % urls.length] as string,
      cookie: (users[key] as BenchUser).cookie,
      conversationIds: [conversationIds[c] as number],
    }
  })
}

/** One lane per conversation, posting over its first member's socket: an open-loop rate spreads evenly over the conversations. */
export const postingLanes = (sockets: readonly SocketSpec[], shape: ScaleShape): Lane[] =>
  sockets.slice(0, shape.conversations).map((s) => ({ kind: 'ws', socketKey: s.key, conversationIds: s.conversationIds }))
