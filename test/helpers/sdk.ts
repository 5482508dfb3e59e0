import WebSocket from 'ws'
import { ChatClient, type ChatClientOptions, type WebSocketFactory } from '../../client/src/index.js'

/** Node 20 has no global WebSocket: the SDK is given one from `ws`, which can send the cookie the SDK keeps. */
export const nodeWebSocket: WebSocketFactory = (url, protocols, headers) =>
  new WebSocket(url, protocols, { headers, perMessageDeflate: false }) as unknown as ReturnType<WebSocketFactory>

/** A ChatClient for tests in Node: the `ws` socket and quick reconnects, closed when the test ends. */
export function sdkClient(t: { teardown(fn: () => void): void }, urls: readonly string[], options: ChatClientOptions = {}): ChatClient {
  const client = new ChatClient({ urls, createWebSocket: nodeWebSocket, backoff: { initialMs: 100, maxMs: 2000 }, ...options })
  t.teardown(() => client.close())
  return client
}
