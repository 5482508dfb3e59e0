import WebSocket from 'ws'
import { ChatClient, type ChatClientOptions, type WebSocketFactory } from '../../client/src/index.js'
import { newUsername } from './http-client.js'

/** Node 20 has no global WebSocket: the SDK is given one from `ws`, which can send the cookie the SDK keeps. */
export const nodeWebSocket: WebSocketFactory = (url, protocols, headers) =>
  new WebSocket(url, protocols, { headers, perMessageDeflate: false }) as unknown as ReturnType<WebSocketFactory>

/** A ChatClient for tests in Node: the `ws` socket and quick reconnects, closed when the test ends. */
export function sdkClient(t: { teardown(fn: () => void): void }, urls: readonly string[], options: ChatClientOptions = {}): ChatClient {
  const client = new ChatClient({ urls, createWebSocket: nodeWebSocket, backoff: { initialMs: 100, maxMs: 2000 }, ...options })
  t.teardown(() => client.close())
  return client
}

/** A test file's people as SDK clients of the nodes at `urls`, all with `password`, closed when `t` ends. */
export function sdkPeople(t: { teardown(fn: () => void): void }, urls: readonly string[], password: string) {
  return {
    /** A user registered under a new name made from `prefix`, connected; `name` is the username. */
    async user(prefix: string, options: ChatClientOptions = {}): Promise<ChatClient & { name: string }> {
      const client = sdkClient(t, urls, options)
      const name = newUsername(prefix)
      await client.register(name, password)
      await client.connect()
      return Object.assign(client, { name })
    },
    /** Another device of the same user: signed in, connected. */
    async device(of: { name: string }, options: ChatClientOptions = {}): Promise<ChatClient> {
      const client = sdkClient(t, urls, options)
      await client.login(of.name, password)
      await client.connect()
      return client
    },
  }
}
