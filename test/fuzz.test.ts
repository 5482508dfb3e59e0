import fc from 'fast-check'
import t from 'tap'
import { stopNodes } from '../deploy/spawn-node.js'
import { rawRequest, restCase, socketCase } from './helpers/fuzz/inputs.js'
import { type Outcome, changesOwnAccount, runSocketCase, sendRawRequest, sendRestCase } from './helpers/fuzz/run-case.js'
import { seedTarget, startFuzzNode } from './helpers/fuzz/target.js'
import { isolatedEnvironment } from './helpers/isolation.js'

/**
 * A few thousand cases of the fuzzer's generators (npm run fuzz throws 100,000 and more), seeded so
 * that every run sends the same ones, at a real node process. A failing case is shrunk by fast-check
 * to a small example, printed with the seed and path that replay it.
 */
const SEED = 20261201

const isolated = await isolatedEnvironment(t, 'fuzz')
const { node, admin, logViolations } = await startFuzzNode({
  DATABASE_URL: isolated.databaseUrl,
  REDIS_URL: isolated.redisUrl,
  REDIS_PREFIX: isolated.redisPrefix,
})
t.teardown(() => stopNodes([node]))
const target = await seedTarget(node.url, admin)
t.teardown(() => target.pool.close())

function holds<T>(arbitrary: fc.Arbitrary<T>, numRuns: number, send: (c: T) => Promise<Outcome>): Promise<void> {
  const property = fc.asyncProperty(arbitrary, async (c) => {
    const { violations } = await send(c)
    if (violations.length > 0) throw new Error(violations.join('\n'))
  })
  return fc.assert(property, { seed: SEED, numRuns })
}

t.test('malformed REST requests: no 5xx, every error in the documented shape', async (t) => {
  await holds(
    restCase(target.seeds).filter((c) => !changesOwnAccount(target, c)),
    800,
    (c) => sendRestCase(target, c),
  )
  t.pass('800 requests')
})

t.test('raw HTTP that no client library sends: no 5xx, every error in the documented shape', async (t) => {
  await holds(rawRequest(target.seeds), 600, (bytes) => sendRawRequest(target, bytes))
  t.pass('600 requests')
})

t.test('malformed WebSocket handshakes and frames: documented refusals, error frames and close codes; the socket stays usable', async (t) => {
  await holds(socketCase(target.seeds), 400, (c) => runSocketCase(target, c))
  t.pass('400 sockets')
})

t.test('the node is still up and logged no error', async (t) => {
  t.equal(node.child.exitCode, null, 'running')
  t.equal((await fetch(`${node.url}/healthz`)).status, 200, 'answers')
  t.same(logViolations(), [], 'no error and no line outside the JSON log')
})
