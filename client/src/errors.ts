import type { ErrorBody, ErrorFrameCode } from './types.js'

/** A REST answer that was not 2xx: its status and its body (docs/api.md, "Errors"). */
export class ApiError extends Error {
  override readonly name = 'ApiError'

  constructor(
    readonly status: number,
    readonly body: ErrorBody,
    /** From Retry-After, on 429 and 503. */
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(`${status} ${body.status}${body.message ? `: ${body.message}` : ''}`)
  }
}

/** No answer came: the network failed, or it took longer than the request's timeout. */
export class NetworkError extends Error {
  override readonly name = 'NetworkError'

  constructor(
    message: string,
    /** The request's timeout passed, rather than the connection failing. */
    readonly timedOut: boolean,
  ) {
    super(message)
  }
}

/** The server refused a frame for good (docs/protocol.md, "error"). */
export class FrameError extends Error {
  override readonly name = 'FrameError'

  constructor(
    readonly code: ErrorFrameCode,
    message: string,
  ) {
    super(`${code}: ${message}`)
  }
}

/** send() while the outbox holds its limit of messages not yet acknowledged. */
export class OutboxFullError extends Error {
  override readonly name = 'OutboxFullError'

  constructor(limit: number) {
    super(`the outbox holds ${limit} messages not yet acknowledged; wait for some to be`)
  }
}

/** An operation that needs a logged-in user, on a client that has none (or whose session ended). */
export class NotLoggedInError extends Error {
  override readonly name = 'NotLoggedInError'

  constructor(message = 'not logged in') {
    super(message)
  }
}

/** The client was closed, or the operation given up on by its signal, before it ended. */
export class ClosedError extends Error {
  override readonly name = 'ClosedError'

  constructor(message = 'the client was closed') {
    super(message)
  }
}
