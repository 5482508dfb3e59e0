/**
 * npm run fuzz [-- --inputs 100000] [--seed 7]
 *
 * Starts one real node process with a fresh database and Redis prefix (dropped at the end), seeds it
 * with accounts and conversations, and throws generated malformed input at it until `--inputs` have
 * been sent: REST requests (every route, method, path parameter, query, header, credential and body
 * shape), raw HTTP bytes no client library would send, and WebSocket sessions (handshakes and
 * frames). The generators are test/helpers/fuzz/inputs.ts; test/fuzz.test.ts runs a few thousand of
 * the same, seeded, in CI. Prints the counts and every kind of violation with one example, and
 * exits 1 on any: an answer of 500 or more, an error answer or error frame not in the documented
 * shape, a socket that neither answers nor closes with a documented code, a node that exits or
 * logs an error. The same seed sends the same inputs.
 */
import { parseArgs } from 'node:util'
import fc from 'fast-check'
import { stopNodes } from '../deploy/spawn-node.js'
import { rawRequest, restCase, socketCase } from '../test/helpers/fuzz/inputs.js'
import { type Outcome, changesOwnAccount, runSocketCase, sendRawRequest, sendRestCase } from '../test/helpers/fuzz/run-case.js'
import { seedTarget, startFuzzNode } from '../test/helpers/fuzz/target.js'
import { dropIsolated, uniqueName, withDatabase } from '../test/helpers/isolation.js'
import { services } from '../test/helpers/services.js'
import { times } from './fixtures.js'

const { values } = parseArgs({ options: { inputs: { type: 'string', default: '100000' }, seed: { type: 'string' } } })
const wanted = Number(values.inputs)
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed)
if (!(wanted > 0) || !Number.isSafeInteger(seed)) throw new Error('--inputs must be a positive number and --seed an integer')

/** Cases per round, and how many are in flight at once, of each kind. */
const ROUND = { rest: { cases: 600, concurrency: 16 }, raw: { cases: 80, concurrency: 8 }, sockets: { cases: 40, concurrency: 8 } }

const counts = { rest: 0, raw: 0, handshakes: 0, frames: 0, skipped: 0 }
const sent = () => counts.rest + counts.raw + counts.frames
/** Violations by kind (the text before the case that showed it), with the first example. */
const findings = new Map<string, { count: number; example: string }>()
/** What came back, by kind. */
const tally = new Map<string, number>()
function record({ violations, seen }: Pick<Outcome, 'violations' | 'seen'>): void {
  for (const answer of seen) tally.set(answer, (tally.get(answer) ?? 0) + 1)
  for (const violation of violations) {
    const kind = violation.split(' | ')[0]!.slice(0, 160)
    const found = findings.get(kind)
    if (found) found.count++
    else findings.set(kind, { count: 1, example: violation.slice(0, 2000) })
  }
}

// Ctrl-C ends the run after the current round, so that the node, its database and its keys are cleaned up.
let interrupted = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => (interrupted = true))

const { postgresUrl, redisUrl } = await services()
const name = uniqueName('fuzz')
console.log(`fuzz: seed ${seed}, ${wanted} inputs`)
const started = performance.now()
const { node, admin, logViolations } = await startFuzzNode({ DATABASE_URL: withDatabase(postgresUrl, name), REDIS_URL: redisUrl, REDIS_PREFIX: `${name}:` })
try {
  const target = await seedTarget(node.url, admin)
  for (let round = 0; sent() < wanted && node.child.exitCode === null && !interrupted; round++) {
    const sample = <T>(arbitrary: fc.Arbitrary<T>, numRuns: number) => fc.sample(arbitrary, { seed: seed + round, numRuns })
    const rest = sample(restCase(target.seeds), ROUND.rest.cases)
    await times(rest.length, ROUND.rest.concurrency, async (i) => {
      const c = rest[i]!
      if (changesOwnAccount(target, c)) return void counts.skipped++
      record(await sendRestCase(target, c))
      counts.rest++
    })
    const raw = sample(rawRequest(target.seeds), ROUND.raw.cases)
    await times(raw.length, ROUND.raw.concurrency, async (i) => {
      record(await sendRawRequest(target, raw[i]!))
      counts.raw++
    })
    const sockets = sample(socketCase(target.seeds), ROUND.sockets.cases)
    await times(sockets.length, ROUND.sockets.concurrency, async (i) => {
      const outcome = await runSocketCase(target, sockets[i]!)
      record(outcome)
      counts.handshakes++
      counts.frames += outcome.inputs
    })
    if (round % 10 === 0) console.error(`round ${round}: ${sent()} inputs, ${[...findings.values()].reduce((n, f) => n + f.count, 0)} violations`)
  }
  await target.pool.close()
  if (node.child.exitCode !== null) record({ violations: [`the node exited with ${node.child.exitCode}`], seen: [] })
  else if ((await fetch(`${node.url}/healthz`)).status !== 200) record({ violations: ['the node no longer answers /healthz'], seen: [] })
} finally {
  await stopNodes([node])
  await dropIsolated(postgresUrl, name, redisUrl)
}
record({ violations: logViolations(), seen: [] })

const seconds = (performance.now() - started) / 1000
console.log(
  `fuzz: ${sent()} inputs in ${seconds.toFixed(0)} s: ${counts.rest} REST requests, ${counts.raw} raw HTTP requests, ` +
    `${counts.handshakes} WebSocket sessions with ${counts.frames} frames (handshakes included); ${counts.skipped} admin changes to the fuzzer's own accounts not sent`,
)
console.log(`fuzz: answers ${[...tally].sort(([a], [b]) => a.localeCompare(b)).map(([kind, n]) => `${kind}: ${n}`).join(', ')}`)
const total = [...findings.values()].reduce((n, f) => n + f.count, 0)
console.log(`fuzz: ${total} violations of ${findings.size} kinds`)
for (const [kind, { count, example }] of findings) console.log(`\n${count} × ${kind}\n  e.g. ${example}`)
if (interrupted) console.log('fuzz: interrupted before all inputs were sent')
process.exitCode = total === 0 && !interrupted ? 0 : 1
