/**
 * The WebSocket the client needs: the browser's API, which the `ws` package also has. Browsers (and
 * Node from 22) have a global WebSocket; on Node 20 pass a factory that makes a `ws` one.
 */
export interface WebSocketLike {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: ((event: never) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: ((event: { code: number; reason: string }) => void) | null
  onerror: ((event: never) => void) | null
}

/**
 * Makes a socket. `headers` holds the session cookie when the client keeps it itself (not in a
 * browser, where the browser sends its own); a factory that cannot send headers ignores them.
 */
export type WebSocketFactory = (url: string, protocols: string[], headers: Record<string, string>) => WebSocketLike

export const OPEN = 1

type WebSocketConstructor = new (url: string, protocols?: string[]) => WebSocketLike

export const globalWebSocket: WebSocketFactory = (url, protocols) => {
  const WebSocketClass = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (!WebSocketClass) throw new Error('this runtime has no WebSocket: pass createWebSocket (on Node 20, one that makes a `ws` WebSocket)')
  return new WebSocketClass(url, protocols)
}

/** Ends a socket at once, without waiting for a closing handshake that a dead peer never answers. */
export function abandon(ws: WebSocketLike): void {
  ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null
  const terminate = (ws as { terminate?: () => void }).terminate
  try {
    if (typeof terminate === 'function') terminate.call(ws)
    else ws.close(4000, 'abandoned')
  } catch {
    // Already closed.
  }
}
