/**
 * The one error type of the domain. Each transport maps the code once:
 * http/error-handler.ts to a status and body, ws/protocol.ts to an error frame.
 */
export type ChatErrorCode =
  | 'unauthorised' // no valid session
  | 'forbidden' // a valid session that may not do this
  | 'not_found'
  | 'username_taken'
  | 'invalid' // input that passed the schema but breaks a rule
  | 'overloaded' // too much waiting for the database: try again shortly
  | 'rate_limited' // over a rate limit: see RateLimited

export class ChatError extends Error {
  constructor(
    readonly code: ChatErrorCode,
    message: string = code,
  ) {
    super(message)
    this.name = 'ChatError'
  }
}

/** Past a rate limit: 429 with Retry-After over HTTP, an error frame with retryAfterSeconds on a socket. */
export class RateLimited extends ChatError {
  constructor(readonly retryAfterSeconds: number) {
    super('rate_limited', 'too many requests; try again later')
  }
}
