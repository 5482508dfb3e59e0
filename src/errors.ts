/**
 * The one error type of the domain. Each transport maps the code once:
 * http/error-handler.ts to a status and body, ws/connection.ts to an error frame.
 */
export type ChatErrorCode =
  | 'unauthorised' // no valid session
  | 'forbidden' // a valid session that may not do this
  | 'not_found'
  | 'username_taken'
  | 'email_taken' // another account has this email, in any letter case
  | 'gone' // it existed, and is no more: an invite expired or used up
  | 'invalid' // input that passed the schema but breaks a rule
  | 'overloaded' // too much waiting for the database: try again shortly
  | 'rate_limited' // over a rate limit: see RateLimited
  | 'unavailable' // the database cannot be reached: see DatabaseUnavailable

export class ChatError extends Error {
  constructor(
    readonly code: ChatErrorCode,
    message: string = code,
    /** When set, the client should try again after this many seconds (Retry-After, retryAfterSeconds). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message)
    this.name = 'ChatError'
  }
}

/** Usernames that name nobody: 404, with a message that names them (docs/api.md), unlike other 404s. */
export class UnknownUsers extends ChatError {
  constructor(readonly usernames: readonly string[]) {
    super('not_found', `unknown user${usernames.length === 1 ? '' : 's'}: ${usernames.join(', ')}`)
  }
}

/** Past a rate limit: 429 with Retry-After over HTTP, an error frame with retryAfterSeconds on a socket. */
export class RateLimited extends ChatError {
  declare readonly retryAfterSeconds: number

  constructor(retryAfterSeconds: number) {
    super('rate_limited', 'too many requests; try again later', retryAfterSeconds)
  }
}

/** How long a client waits before it tries again when the database cannot be reached. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 2

/**
 * Postgres cannot be reached (storage/db.ts decides): 503 with Retry-After over HTTP, an error frame
 * with retryAfterSeconds on a socket. Nothing was acknowledged. A post whose statement went
 * unanswered may still have been stored: its retry with the same id answers the original.
 */
export class DatabaseUnavailable extends ChatError {
  constructor() {
    super('unavailable', 'the database cannot be reached; try again shortly', UNAVAILABLE_RETRY_AFTER_SECONDS)
  }
}

/** A setting that cannot work: the node refuses to start and says which (server.ts). */
export class ConfigError extends Error {
  override name = 'ConfigError'
}
