import net from 'node:net'

export interface RawAnswer {
  status: number
  /** Header names in lower case. */
  headers: Record<string, string>
  body: string
}

/**
 * Writes bytes to a node as they are, malformed or not (at once, or `chunkBytes` at a time), closes its side of the connection, and
 * reads every HTTP answer that comes back until the node closes too: status line, headers and body
 * (by Content-Length, chunked, or up to the close). Reading stops at a 101, whose connection is no
 * longer HTTP, and after the first answer to a HEAD request, which has no body to delimit the next.
 * Bytes that do not parse as an answer become an answer with status 0.
 */
export function rawExchange(
  baseUrl: string,
  bytes: string | Buffer,
  options: { head?: boolean; timeoutMs?: number; chunkBytes?: number } = {},
): Promise<RawAnswer[]> {
  const { head = false, timeoutMs = 20_000, chunkBytes } = options
  const { hostname, port } = new URL(baseUrl)
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) })
    const chunks: Buffer[] = []
    let settled = false
    const finish = (error?: Error) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      if (error) reject(error)
      else resolve(parseAnswers(Buffer.concat(chunks), head))
    }
    const timer = setTimeout(
      () => finish(new Error(`the node neither answered nor closed within ${timeoutMs} ms: ${Buffer.concat(chunks).toString().slice(0, 300)}`)),
      timeoutMs,
    )
    socket.on('data', (chunk) => {
      chunks.push(chunk)
      if (parseAnswers(Buffer.concat(chunks), head).at(-1)?.status === 101) finish()
    })
    socket.on('close', () => finish())
    // A reset after the node answered is still an answer.
    socket.on('error', () => finish())
    if (chunkBytes === undefined) socket.end(bytes)
    else void writeInChunks(socket, Buffer.from(bytes), chunkBytes)
  })
}

/** Writes the bytes a chunk per turn of the event loop, as a client streaming a large request does, while answers come in. */
async function writeInChunks(socket: net.Socket, bytes: Buffer, chunkBytes: number): Promise<void> {
  for (let at = 0; at < bytes.length && socket.writable; at += chunkBytes) {
    socket.write(bytes.subarray(at, at + chunkBytes))
    await new Promise((resolve) => setImmediate(resolve))
  }
  if (socket.writable) socket.end()
}

function parseAnswers(data: Buffer, head: boolean): RawAnswer[] {
  const answers: RawAnswer[] = []
  let at = 0
  while (at < data.length) {
    const end = data.indexOf('\r\n\r\n', at)
    const statusLine = /^HTTP\/1\.[01] (\d{3})/.exec(data.subarray(at, at + 16).toString('latin1'))
    if (end === -1 || !statusLine) {
      answers.push({ status: 0, headers: {}, body: data.subarray(at).toString() })
      break
    }
    const headers: Record<string, string> = {}
    for (const line of data.subarray(at, end).toString('latin1').split('\r\n').slice(1)) {
      const colon = line.indexOf(':')
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
    }
    const status = Number(statusLine[1])
    at = end + 4
    if (status === 101 || head) {
      answers.push({ status, headers, body: '' })
      break
    }
    const length = headers['content-length']
    let body: Buffer
    if (headers['transfer-encoding'] === 'chunked') [body, at] = dechunk(data, at)
    else if (length !== undefined) [body, at] = [data.subarray(at, at + Number(length)), at + Number(length)]
    else [body, at] = [data.subarray(at), data.length]
    answers.push({ status, headers, body: body.toString() })
  }
  return answers
}

function dechunk(data: Buffer, from: number): [Buffer, number] {
  const parts: Buffer[] = []
  let at = from
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at)
    if (lineEnd === -1) return [Buffer.concat(parts), data.length]
    const size = Number.parseInt(data.subarray(at, lineEnd).toString(), 16)
    if (!(size > 0)) return [Buffer.concat(parts), Math.min(data.length, lineEnd + 4)]
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size))
    at = lineEnd + 2 + size + 2
  }
}
