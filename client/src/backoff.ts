export interface BackoffOptions {
  /** The first delay's ceiling. */
  initialMs: number
  /** The most any delay can be. */
  maxMs: number
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000 }

/**
 * Exponential backoff with full jitter: a delay drawn evenly from zero to the ceiling, which doubles
 * with each attempt up to the maximum. Clients that lost the same node spread their reconnects.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  return random() * Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30))
}
