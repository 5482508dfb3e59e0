import type { Test } from 'tap'
import type { NodeProcess } from '../../deploy/spawn-node.js'
import { startCluster } from './cluster.js'
import { createConversation, register } from './http-client.js'
import { TestSocket } from './ws-client.js'

export interface NodeWithUser {
  node: NodeProcess
  cookie: string
  conversationId: number
  /** A socket of the user's, open on the node. */
  socket: TestSocket
}

/**
 * One real node process (the test settings, with `env` on top), a user registered on it, a
 * conversation of theirs and a socket of theirs: what a test that breaks the node's services acts
 * through. The socket closes and the node stops when the test ends.
 */
export async function nodeWithUser(t: Test, label: string, env: Record<string, string>): Promise<NodeWithUser> {
  const node = (await startCluster(t, label, 1, env))[0] as NodeProcess
  const { cookie } = await register(node.url)
  const { id } = await createConversation(node.url, cookie)
  const socket = await TestSocket.connect(node.url, cookie)
  t.teardown(() => socket.close())
  return { node, cookie, conversationId: id, socket }
}
