let counter = 0

/** A username no other test has used. */
export function newUsername(prefix = 'user'): string {
  return `${prefix}${process.pid}x${++counter}`
}

export interface Reply {
  status: number
  body: any
  headers: Headers
}

/** A fetch wrapper that sends JSON with an optional session cookie and parses JSON answers. */
export async function request(
  baseUrl: string,
  method: string,
  path: string,
  options: { cookie?: string; bearer?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers }
  if (options.cookie) headers.cookie = options.cookie
  if (options.bearer) headers.authorization = `Bearer ${options.bearer}`
  let body: string | undefined = options.rawBody
  if (options.body !== undefined) {
    body = JSON.stringify(options.body)
    headers['content-type'] ??= 'application/json'
  }
  const res = await fetch(baseUrl + path, { method, headers, body })
  const text = await res.text()
  let parsed: unknown = text
  try {
    parsed = JSON.parse(text)
  } catch {
    // not JSON; keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers }
}

/** Registers a user and returns the `sid=…` cookie pair to send back. */
export async function register(baseUrl: string, username = newUsername(), password?: string): Promise<{ username: string; cookie: string }> {
  const res = await request(baseUrl, 'POST', '/auth/register', { body: password === undefined ? { username } : { username, password } })
  if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${JSON.stringify(res.body)}`)
  return { username, cookie: sessionCookieOf(res) as string }
}

export async function createConversation(baseUrl: string, cookie: string, title = 'a conversation'): Promise<{ id: number; url: string }> {
  const res = await request(baseUrl, 'POST', '/api/conversations', { cookie, body: { title } })
  if (res.status !== 201) throw new Error(`create conversation: ${res.status} ${JSON.stringify(res.body)}`)
  return { id: Number(res.body.url.split('/').pop()), url: res.body.url }
}

export async function postMessage(baseUrl: string, cookie: string, conversationId: number, text: string): Promise<Reply> {
  return request(baseUrl, 'POST', `/api/conversations/${conversationId}`, { cookie, body: { text } })
}

/** The `sid=…` pair a reply set, or undefined. */
export function sessionCookieOf(reply: Reply): string | undefined {
  const pair = reply.headers.get('set-cookie')?.split(';')[0]
  return pair?.startsWith('sid=') && pair.length > 4 ? pair : undefined
}

/** Logs in with a password and returns the new session's cookie pair. */
export async function login(baseUrl: string, username: string, password: string): Promise<string> {
  const res = await request(baseUrl, 'POST', '/auth/login', { body: { username, password } })
  const cookie = sessionCookieOf(res)
  if (res.status !== 200 || !cookie) throw new Error(`login ${username}: ${res.status} ${JSON.stringify(res.body)}`)
  return cookie
}

/**
 * A reader with three unread messages: a writer registered on `writerNode` starts a direct conversation
 * with the reader (registered on `readerNode`) and writes 'a', 'b', 'c'; `phone` is the cookie of a
 * second session of the reader, on `writerNode`.
 */
export async function unreadDirect(readerNode: string, writerNode: string, password: string) {
  const reader = await register(readerNode, newUsername('reader'), password)
  const writer = await register(writerNode, newUsername('writer'))
  const direct = await request(writerNode, 'POST', `/api/direct/${reader.username}`, { cookie: writer.cookie })
  const id = Number(direct.body.url.split('/').pop())
  for (const text of ['a', 'b', 'c']) await postMessage(writerNode, writer.cookie, id, text)
  const phone = await login(writerNode, reader.username, password)
  return { reader, writer, id, phone }
}

export interface TokenPair {
  access_token: string
  refresh_token: string
}

/** Exchanges a username and password for an access and a refresh token. */
export async function tokensFor(baseUrl: string, username: string, password: string): Promise<TokenPair> {
  const res = await request(baseUrl, 'POST', '/auth/token', { body: { username, password } })
  if (res.status !== 200) throw new Error(`token ${username}: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body
}
