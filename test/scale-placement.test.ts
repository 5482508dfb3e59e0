import t from 'tap'
import { postingLanes, placeSockets, usersNeeded } from '../bench/scale-workload.js'

const urls = Array.from({ length: 10 }, (_, i) => `http://node${i}`)
const shape = { conversations: 600, members: 4, spread: 2 }
const users = Array.from({ length: usersNeeded(shape) }, (_, i) => ({ username: `u${i}`, cookie: `c${i}` }))
const ids = Array.from({ length: shape.conversations }, (_, c) => 1000 + c)
const sockets = placeSockets(urls, users, ids, shape)

t.test("bench:scale puts each conversation's members on `spread` nodes, and every node holds spread / nodes of the conversations", async (t) => {
  t.equal(sockets.length, 2400)
  t.same(new Set(sockets.map((s) => s.cookie)).size, 2400, 'one user per socket')
  const nodesOf = new Map<number, Set<string>>()
  for (const s of sockets) for (const id of s.conversationIds) (nodesOf.get(id) ?? nodesOf.set(id, new Set()).get(id)!).add(s.url)
  t.ok([...nodesOf.values()].every((nodes) => nodes.size === 2), 'each conversation on 2 nodes')
  for (const url of urls) {
    const held = [...nodesOf].filter(([, nodes]) => nodes.has(url)).length
    t.equal(held, (600 * 2) / 10, `${url} holds subscribers of a fifth of the conversations`)
  }
})

t.test('bench:scale posts through one lane per conversation, whose socket is in the load process that posts for the lane', async (t) => {
  const lanes = postingLanes(sockets, shape)
  t.equal(lanes.length, 600)
  t.same(new Set(lanes.flatMap((lane) => lane.conversationIds)).size, 600, 'every conversation has its lane')
  for (const processes of [1, 2, 3]) {
    t.ok(
      lanes.every((lane, i) => lane.kind === 'ws' && lane.socketKey % processes === i % processes),
      `lane i's socket lives in process i mod ${processes}`,
    )
  }
})
