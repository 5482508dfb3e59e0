import t from 'tap'
import { startCluster } from './helpers/cluster.js'
import { newUsername, register, request } from './helpers/http-client.js'
import { ownRedisCluster } from './helpers/redis-cluster-client.js'
import { unstructuredLines, until } from './helpers/waiting.js'
import { TestSocket } from './helpers/ws-client.js'

// A node on a Redis Cluster of the test's own (REDIS_CLUSTER_NODES; its REDIS_URL names the
// machine's Redis, which it must not use) keeps its rate limits and presence there, and goes on
// after a master dies and its replica takes over.
const { cluster, client } = await ownRedisCluster(t)
const PREFIX = 'chat:'
const [node] = await startCluster(t, 'redis_cluster', 1, {
  REDIS_CLUSTER_NODES: cluster.nodes,
  REDIS_PREFIX: PREFIX,
  RATE_LIMIT_REGISTER_IP: '4/600',
  // Renewed every second: a renewal that met the failover is soon done again.
  PRESENCE_TTL_SECONDS: '3',
})
const url = node!.url
const PRESENCE_COUNTS = `${PREFIX}{presence}:count`

const ready = async () => (await request(url, 'GET', '/readyz')).body
const idOf = async (cookie: string) => (await request(url, 'GET', '/api/me', { cookie })).body.id as number

async function online(cookie: string) {
  const socket = await TestSocket.connect(url, cookie)
  t.teardown(() => socket.close())
  const id = await idOf(cookie)
  await until(async () => (await client.hget(PRESENCE_COUNTS, String(id))) === '1', `user ${id} online in the cluster`, 30_000)
}

t.test('the node is ready, and counts its rate limits and presence in the cluster', async (t) => {
  t.same(await ready(), { status: 'ok', postgres: true, redis: true }, '/readyz')
  const alice = await register(url, newUsername('alice'))
  await register(url, newUsername('bob'))
  t.equal(await client.get(`${PREFIX}limit:register-ip:127.0.0.1`), '2', 'two registrations counted in the cluster')
  await online(alice.cookie)
  t.pass("alice's socket made her online in the cluster")
  t.same(unstructuredLines(node!.output), [], 'every log line is JSON')
  t.same(node!.output.filter((line) => JSON.parse(line).level >= 50), [], 'no error logged (the stream reader included)')
})

t.test('a master dies: once its replica has taken over, the node is ready and counts on', async (t) => {
  const master = await cluster.masterOf(PRESENCE_COUNTS)
  const { promoted, failoverMs } = await cluster.killMaster(master)
  t.comment(`127.0.0.1:${promoted} took over from 127.0.0.1:${master} in ${failoverMs} ms`)
  await until(async () => (await ready()).status === 'ok', '/readyz ok again', 30_000)
  t.pass('ready again')
  const carol = await register(url, newUsername('carol'))
  await online(carol.cookie)
  t.pass("carol's socket made her online, on the promoted master")
  await register(url, newUsername('dave'))
  const refused = await request(url, 'POST', '/auth/register', { body: { username: newUsername('eve') } })
  t.equal(refused.status, 429, 'the fifth registration from the address is refused: the count went on')
})
