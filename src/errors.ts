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

export class ChatError extends Error {
  constructor(
    readonly code: ChatErrorCode,
    message: string = code,
  ) {
    super(message)
    this.name = 'ChatError'
  }
}
