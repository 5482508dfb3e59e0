/**
 * Rules for user-supplied strings, as JSON-schema patterns shared by REST and WebSocket schemas.
 * Postgres text cannot hold NUL, and bcrypt would stop reading a password at one, so NUL is refused.
 */
export const NO_NUL = '^[^\\u0000]*$'
/** No NUL, and at least one character that is not white space. */
export const NOT_BLANK = '^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$'
