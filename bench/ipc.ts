/** The messages between the bench's coordinator (bench/run.ts) and its load processes (bench/load-process.ts). */

/** One simulated device: a user's WebSocket on one node, subscribed to some conversations. */
export interface SocketSpec {
  key: number
  url: string
  cookie: string
  conversationIds: number[]
}

/** Who posts message k of a step: lane k % lanes.length, into its conversations in turn. */
export type Lane =
  /** A `send` frame on one of this process's sockets. */
  | { kind: 'ws'; socketKey: number; conversationIds: number[] }
  /** A REST POST on a keep-alive connection of its own. */
  | { kind: 'rest'; url: string; cookie: string; conversationIds: number[] }

export interface StepPlan {
  /** Epoch ms at which message 0 is due; message k is due at startAt + k * 1000 / rate. */
  startAt: number
  durationMs: number
  /** Offered messages per second, across every process. */
  rate: number
  /** Every lane of the step; a process posts only for the lanes it owns (index % processes === its index). */
  lanes: Lane[]
}

/** Inclusive seq ranges per conversation. */
export type SeqRanges = Record<number, [number, number][]>

export interface PostOutcome {
  sent: number
  acked: SeqRanges
  failed: number
  /** Base64 hdr histogram of due time to acknowledgement, in microseconds. */
  ackLatency: string
}

export interface DeliveryOutcome {
  /** Expected deliveries that never came. */
  lost: number
  /** Deliveries of a seq the socket already had. */
  dup: number
  /** Deliveries of a seq lower than one the socket already had. */
  reordered: number
  /** First deliveries whose arrival fell inside the step's window. */
  inWindow: number
  /** Base64 hdr histogram of due time to delivery, in microseconds. */
  latency: string
}

export type Command =
  | { cmd: 'open'; sockets: SocketSpec[] }
  /** Drops every socket at once, keeping what each has seen, as a network failure would. */
  | { cmd: 'drop' }
  /** Reopens every dropped socket and resumes each subscription from the last seq it saw; resolves when each has `target`. */
  | { cmd: 'resume'; target: Record<number, number> }
  | { cmd: 'closeAll' }
  | { cmd: 'post'; plan: StepPlan; processIndex: number; processes: number }
  | { cmd: 'progress' }
  | { cmd: 'collect'; expected: SeqRanges }

export interface Replies {
  open: { opened: number }
  drop: { dropped: number }
  resume: { convergedAt: number; resubscribes: number }
  closeAll: { closed: number }
  post: PostOutcome
  progress: { delivered: number }
  collect: DeliveryOutcome
}

export type Request = Command & { id: number }
export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string }
