import net from 'node:net'

export interface RawAnswer {
  status: number
  /** Header names in lower case. */
  headers: Record<string, string>
  body: string
}

/**
 * Writes bytes to a node as they are, malformed or not, and reads the first HTTP answer: its status
 * line, headers and body (by Content-Length, or up to the close). Undefined when the connection
 * closed without an answer. A 101 answer ends at its headers.
 */
export function rawExchange(baseUrl: string, bytes: string | Buffer, timeoutMs = 10_000): Promise<RawAnswer | undefined> {
  const { hostname, port } = new URL(baseUrl)
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) })
    let received = Buffer.alloc(0)
    let settled = false
    const finish = (answer: RawAnswer | undefined | Error) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      if (answer instanceof Error) reject(answer)
      else resolve(answer)
    }
    const timer = setTimeout(() => finish(new Error(`no complete answer within ${timeoutMs} ms: ${received.toString().slice(0, 300)}`)), timeoutMs)
    const parse = (closed: boolean): RawAnswer | undefined => {
      const end = received.indexOf('\r\n\r\n')
      if (end === -1) return undefined
      const [statusLine = '', ...lines] = received.subarray(0, end).toString('latin1').split('\r\n')
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1])
      const headers: Record<string, string> = {}
      for (const line of lines) {
        const colon = line.indexOf(':')
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
      const body = received.subarray(end + 4)
      if (status === 101) return { status, headers, body: '' }
      const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length'])
      if (length !== undefined && body.length >= length) return { status, headers, body: body.subarray(0, length).toString() }
      return closed ? { status, headers, body: body.toString() } : undefined
    }
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk])
      const answer = parse(false)
      if (answer) finish(answer)
    })
    socket.on('close', () => finish(parse(true)))
    socket.on('error', () => finish(parse(true)))
    socket.write(bytes)
  })
}
