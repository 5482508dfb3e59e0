/**
 * The error bodies docs/api.md documents, by status: JSON with a `status` string, and a `message`
 * string where the table shows one (every 400, 413 and 415; others may add one).
 */
export const DOCUMENTED: Record<number, { status: string | string[]; needsMessage: boolean }> = {
  400: { status: 'invalid request', needsMessage: true },
  401: { status: 'unauthorised', needsMessage: false },
  403: { status: 'unauthorised', needsMessage: false },
  404: { status: 'not found', needsMessage: false },
  408: { status: 'request timeout', needsMessage: false },
  409: { status: ['username taken', 'email taken'], needsMessage: false },
  410: { status: 'gone', needsMessage: false },
  413: { status: 'payload too large', needsMessage: true },
  415: { status: 'unsupported media type', needsMessage: true },
  426: { status: 'upgrade required', needsMessage: true },
  429: { status: 'too many requests', needsMessage: false },
  431: { status: 'request header fields too large', needsMessage: false },
  503: { status: ['overloaded', 'unavailable'], needsMessage: false },
}

/**
 * Why an HTTP error answer breaks the documented shape, or undefined when it keeps it. `body` is
 * the raw text; a HEAD answer has none to check.
 */
export function errorShapeViolation(answer: { status: number; contentType: string | undefined; body: string }, method = 'GET'): string | undefined {
  const documented = DOCUMENTED[answer.status]
  if (!documented) return `status ${answer.status} is not a documented error status`
  if (method === 'HEAD') return undefined
  if (!answer.contentType?.startsWith('application/json')) return `content type ${answer.contentType} is not JSON`
  let body: unknown
  try {
    body = JSON.parse(answer.body)
  } catch {
    return `body is not JSON: ${answer.body.slice(0, 200)}`
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return `body is not an object: ${answer.body.slice(0, 200)}`
  const { status, message, ...rest } = body as Record<string, unknown>
  if (![documented.status].flat().includes(status as string))
    return `status "${String(status)}" is not the documented "${[documented.status].flat().join('" or "')}" for ${answer.status}`
  if (message === undefined ? documented.needsMessage : typeof message !== 'string') return `message ${JSON.stringify(message)} is not as documented for ${answer.status}`
  const extra = Object.keys(rest)
  if (extra.length > 0) return `undocumented fields ${extra.join(', ')}`
  return undefined
}
