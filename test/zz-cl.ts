import { OwnRedisCluster } from './faults/redis-cluster.js'
for (let i = 0; i < 15; i++) {
  const t0 = Date.now()
  try { const c = await OwnRedisCluster.start(); await c.stop() } catch (e) { console.log('FAIL', i, (e as Error).message) }
  console.log(i, Date.now() - t0)
}
