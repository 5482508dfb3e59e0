import type { IncomingMessage } from 'node:http'
import WebSocket from 'ws'
import { errorShapeViolation } from '../error-shape.js'
import { rawExchange } from '../raw-http.js'
import { type Credential, type RestCase, type SocketCase, headerValue } from './inputs.js'
import type { FuzzTarget } from './target.js'

/**
 * Sends one generated case to the node and judges what comes back. The rules: no status of 500 or
 * more, every error answer and every error frame in the documented shape, a socket that stays
 * usable or closes with a documented code.
 */
export interface Outcome {
  /** The rules the answers broke, each with the case; empty when none. */
  violations: string[]
  /** What came back, for the run's tally: `REST 404`, `raw 400`, `WS error bad_frame`, `WS close 1009`. */
  seen: string[]
  /** Inputs sent: 1 for a request, the frames of a socket (its handshake included). */
  inputs: number
}

/** Error frame codes of docs/protocol.md, but `internal`, which is a fault of ours and so a finding. */
const ERROR_CODES = new Set(['bad_frame', 'invalid', 'unauthorised', 'forbidden', 'not_found', 'busy', 'overloaded', 'rate_limited'])
/** Close codes of docs/protocol.md. */
const CLOSE_CODES = new Set([1002, 1007, 1009, 1012, 4001, 4003, 4008])
const PROBE_TIMEOUT_MS = 20_000

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** The credential a case presents, as headers, or as a subprotocol on a socket that asks for it. */
function presented(target: FuzzTarget, credential: Credential, tokenIn: 'header' | 'subprotocol' = 'header') {
  const headers: [string, string][] = []
  const protocols: string[] = []
  const bearer = (token: string) => {
    if (tokenIn === 'header') headers.push(['authorization', `Bearer ${headerValue(token)}`])
    else if (TOKEN.test(`bearer.${token}`)) protocols.push('chat.v1', `bearer.${token}`)
  }
  const own = credential.who === 'nobody' ? undefined : target.accounts[credential.who]
  switch (credential.form) {
    case 'cookie':
      if (own) headers.push(['cookie', own.cookie])
      break
    case 'bearer':
      if (own) bearer(own.accessToken)
      break
    case 'forged-cookie':
      headers.push(['cookie', `sid=${headerValue(credential.forged)}`])
      break
    case 'forged-bearer':
      bearer(credential.forged)
      break
    case 'tampered-bearer': {
      // Another signature, or another user's claims under this one's signature.
      const signer = own ?? target.accounts.member
      const [header, , signature] = signer.accessToken.split('.')
      const [, claims] = (signer === target.accounts.outsider ? target.accounts.member : target.accounts.outsider).accessToken.split('.')
      bearer(credential.forged.length % 2 ? `${header}.${claims}.${signature}` : `${header}.${claims}.${signature?.split('').reverse().join('')}`)
      break
    }
    case 'other-scheme':
      headers.push(['authorization', headerValue(credential.forged)])
      break
  }
  return { headers, protocols }
}

function answerViolation(answer: { status: number; contentType: string | undefined; body: string }, method: string): string | undefined {
  if (answer.status >= 500) return `answered ${answer.status}: ${answer.body.slice(0, 200)}`
  if (answer.status >= 400) return errorShapeViolation(answer, method)
  return undefined
}

const describe = (value: unknown) => JSON.stringify(value, (_k, v) => (typeof v === 'string' && v.length > 200 ? `${v.slice(0, 200)}…(${v.length})` : v))

const ID_SHAPE = /^[1-9][0-9]{0,15}$/

/**
 * Whether the case is an admin's change to one of the fuzzer's own accounts: renaming, resetting
 * or deleting them would leave the rest of the run unable to sign in, so such cases are not sent.
 */
export function changesOwnAccount(target: FuzzTarget, c: RestCase): boolean {
  if (c.credential.who !== 'admin' || c.method === 'GET' || c.method === 'HEAD') return false
  const id = /^\/admin\/users\/([^/?]*)/.exec(c.path)?.[1]
  if (id === undefined) return false
  let decoded: string
  try {
    decoded = decodeURIComponent(id)
  } catch {
    return false
  }
  return ID_SHAPE.test(decoded) && Object.values(target.accounts).some((a) => a.id === Number(decoded))
}

/** Whether the request, having succeeded, ended the session that asked (or, for a password, the others). */
const endsSession = (c: RestCase) =>
  (c.method === 'POST' && /^\/auth\/(logout|password)(\/|\?|$)/.test(c.path)) || (c.method === 'DELETE' && /^\/auth\/(token|sessions)(\/|\?|$)/.test(c.path))

export async function sendRestCase(target: FuzzTarget, c: RestCase): Promise<Outcome> {
  const { headers } = presented(target, c.credential)
  if (c.body?.contentType !== undefined) headers.push(['content-type', headerValue(c.body.contentType)])
  if (c.origin !== undefined) headers.push(['origin', c.origin])
  if (c.idempotencyKey !== undefined) headers.push(['idempotency-key', c.idempotencyKey])
  headers.push(...c.headers)
  let answer: { status: number; contentType: string | undefined; body: string }
  try {
    const res = await target.pool.request({ method: c.method, path: c.path, headers: headers.flat(), body: c.body?.text })
    const contentType = res.headers['content-type']
    answer = { status: res.statusCode, contentType: Array.isArray(contentType) ? contentType[0] : contentType, body: await res.body.text() }
  } catch (err) {
    return { violations: [`REST: no answer (${(err as Error).message}) | ${describe(c)}`], seen: ['REST no answer'], inputs: 1 }
  }
  if (answer.status < 300 && c.credential.who !== 'nobody' && endsSession(c)) await target.signInAgain(c.credential.who)
  const violation = answerViolation(answer, c.method)
  return { violations: violation ? [`REST ${violation} | ${describe(c)}`] : [], seen: [`REST ${answer.status}`], inputs: 1 }
}

/** Sends raw bytes; every answer that comes back is judged, and a 101 only counts at /ws. */
export async function sendRawRequest(target: FuzzTarget, bytes: Buffer): Promise<Outcome> {
  const requestLine = bytes.subarray(0, Math.min(bytes.length, 200)).toString('latin1').split(/\r?\n/)[0] ?? ''
  let answers
  try {
    answers = await rawExchange(target.url, bytes, { head: requestLine.startsWith('HEAD ') })
  } catch (err) {
    return { violations: [`raw: ${(err as Error).message} | ${describe(bytes.toString('latin1'))}`], seen: ['raw no answer'], inputs: 1 }
  }
  const violations: string[] = []
  const seen = answers.length === 0 ? ['raw closed without an answer'] : answers.map((a) => `raw ${a.status}`)
  for (const answer of answers) {
    if (answer.status === 0) violations.push(`raw: bytes that are not an HTTP answer: ${describe(answer.body)}`)
    else if (answer.status === 101 && !/^GET \/ws\/? /.test(requestLine)) violations.push(`raw: upgraded at ${requestLine}`)
    else {
      const violation = answerViolation({ status: answer.status, contentType: answer.headers['content-type'], body: answer.body }, requestLine.split(' ')[0] ?? '')
      if (violation) violations.push(`raw ${violation} | ${describe(bytes.toString('latin1'))}`)
    }
  }
  return { violations, seen, inputs: 1 }
}

function frameViolation(data: WebSocket.RawData): string | undefined {
  let frame: Record<string, unknown>
  try {
    frame = JSON.parse(data.toString())
  } catch {
    return `a server frame that is not JSON: ${data.toString().slice(0, 200)}`
  }
  if (typeof frame !== 'object' || frame === null || typeof frame.type !== 'string') return `a server frame without a type: ${describe(frame)}`
  if (frame.type !== 'error') return undefined
  const { type: _, id, code, message, retryAfterSeconds, ...rest } = frame
  if (!ERROR_CODES.has(code as string)) return `an error frame with code ${describe(code)}: ${describe(frame)}`
  if (typeof message !== 'string') return `an error frame without a message: ${describe(frame)}`
  if (id !== undefined && typeof id !== 'string') return `an error frame whose id is not a string: ${describe(frame)}`
  if (retryAfterSeconds !== undefined && code !== 'rate_limited') return `retryAfterSeconds on a ${code} error: ${describe(frame)}`
  if (Object.keys(rest).length > 0) return `an error frame with undocumented fields: ${describe(frame)}`
  return undefined
}

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of res) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString()
}

/** An open socket, with every frame and the close recorded from the first byte after the upgrade. */
interface OpenSocket {
  ws: WebSocket
  received: WebSocket.RawData[]
  closed: number | undefined
}

type Handshake = { open: OpenSocket } | { refused: { status: number; contentType: string | undefined; body: string } } | { failed: string }

function handshake(target: FuzzTarget, c: SocketCase): Handshake | Promise<Handshake> {
  const { headers, protocols } = presented(target, c.credential, c.tokenIn)
  const offered = [...new Set([...protocols, ...c.protocols])]
  let ws: WebSocket
  try {
    ws = new WebSocket(`${target.url.replace('http', 'ws')}/ws`, offered, { headers: Object.fromEntries(headers), origin: c.origin, perMessageDeflate: false })
  } catch (err) {
    return { failed: `the client refused the case: ${(err as Error).message}` }
  }
  // The welcome may come in the same packet as the upgrade, before 'open' is handled.
  const open: OpenSocket = { ws, received: [], closed: undefined }
  ws.on('message', (data) => open.received.push(data))
  ws.on('close', (code) => (open.closed = code))
  return new Promise<Handshake>((resolve) => {
    ws.once('open', () => resolve({ open }))
    ws.once('unexpected-response', (_req, res) => {
      void readAll(res).then((body) => resolve({ refused: { status: res.statusCode ?? 0, contentType: res.headers['content-type'], body } }))
    })
    ws.on('error', (err) => resolve({ failed: err.message }))
  })
}

/** A client that offers subprotocols, none of them ours, fails the handshake itself (RFC 6455 §4.1), as docs/protocol.md says. */
const CLIENT_OWN_FAILURE = 'Server sent no subprotocol'

/**
 * Opens a socket with the case's credential, sends its inputs, then a ping: the pong proves the
 * socket still works. Counts the frames sent, the handshake included.
 */
export async function runSocketCase(target: FuzzTarget, c: SocketCase): Promise<Outcome> {
  const opened = await handshake(target, c)
  if ('failed' in opened) {
    const failure = `WS handshake failed: ${opened.failed}`
    return { violations: opened.failed === CLIENT_OWN_FAILURE ? [] : [`${failure} | ${describe(c)}`], seen: [failure], inputs: 1 }
  }
  if ('refused' in opened) {
    const violation = answerViolation(opened.refused, 'GET')
    return { violations: violation ? [`WS handshake ${violation} | ${describe(c)}`] : [], seen: [`WS handshake ${opened.refused.status}`], inputs: 1 }
  }
  const socket = opened.open
  const { ws, received } = socket
  const violations: string[] = []
  const seen = ['WS handshake 101']
  let frames = 1
  try {
    await waitFor(ws, () => received.length > 0 || socket.closed !== undefined)
    const welcome = received[0] ? JSON.parse(received[0].toString()) : undefined
    if (welcome?.type !== 'welcome') violations.push(`WS: the first frame is not a welcome: ${describe(welcome)}`)
    for (const input of c.inputs) {
      if (ws.readyState !== ws.OPEN) break
      frames++
      if (input.kind === 'raw') {
        ;(ws as unknown as { _socket: { write(data: Uint8Array): void } })._socket.write(input.data)
        break
      }
      ws.send(input.data, { binary: input.kind === 'binary' })
    }
    if (ws.readyState === ws.OPEN) {
      frames++
      ws.send(JSON.stringify({ type: 'ping', id: 'probe' }))
    }
    const answered = await waitFor(ws, () => socket.closed !== undefined || received.some((d) => d.toString() === '{"type":"pong","id":"probe"}'))
    if (!answered) violations.push(`WS: neither the probe's pong nor a close within ${PROBE_TIMEOUT_MS} ms | ${describe(c)}`)
    if (socket.closed !== undefined && !CLOSE_CODES.has(socket.closed)) violations.push(`WS: closed with ${socket.closed}, not a documented code | ${describe(c)}`)
    seen.push(socket.closed === undefined ? 'WS still open after the probe' : `WS close ${socket.closed}`)
    for (const data of received) {
      const violation = frameViolation(data)
      if (violation) violations.push(`WS: ${violation} | ${describe(c)}`)
      else seen.push(`WS ${frameLabel(data)}`)
    }
  } finally {
    ws.terminate()
  }
  if (socket.closed === 4001 && c.credential.who !== 'nobody') await target.signInAgain(c.credential.who)
  return { violations, seen, inputs: frames }
}

/** A server frame's type, and an error frame's code. */
function frameLabel(data: WebSocket.RawData): string {
  const frame = JSON.parse(data.toString()) as { type: string; code?: string }
  return frame.type === 'error' ? `error ${frame.code}` : frame.type
}

/** Resolves true when the condition holds, checked after each frame and at the close; false after the probe timeout. */
function waitFor(ws: WebSocket, condition: () => boolean): Promise<boolean> {
  if (condition()) return Promise.resolve(true)
  return new Promise((resolve) => {
    const check = () => {
      if (condition()) done(true)
    }
    const done = (holds: boolean) => {
      clearTimeout(timer)
      ws.off('message', check)
      ws.off('close', check)
      resolve(holds)
    }
    const timer = setTimeout(() => done(condition()), PROBE_TIMEOUT_MS)
    ws.on('message', check)
    ws.on('close', check)
  })
}
