import net from 'node:net'
import t from 'tap'
import { freePorts } from '../deploy/spawn-node.js'

// Tests start redis-servers and nodes on ports from freePorts. Looked up one at a time, 12 ports held
// a duplicate in about 1 run of 100 here (the kernel picks a port that was let go at random again),
// and a Redis Cluster of the test's own failed to start.
t.test('freePorts hands out distinct ports that can be listened on', async (t) => {
  const ports = await freePorts(200)
  t.equal(new Set(ports).size, 200, '200 distinct ports')
  const servers = ports.slice(0, 50).map(() => net.createServer())
  t.teardown(() => Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve)))))
  await Promise.all(servers.map((server, i) => new Promise<void>((resolve, reject) => server.once('error', reject).listen(ports[i], '127.0.0.1', resolve))))
  t.pass('50 of them taken at once')
})
