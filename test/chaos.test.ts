import t from 'tap'
import { type CheckInput, VIOLATIONS, check } from './chaos/checker.js'
import type { Delivery } from './chaos/client.js'
import type { StoredEvent } from './chaos/history.js'
import type { RedisKind } from './chaos/cluster.js'
import { type Scenario, SCENARIOS, runsOn } from './chaos/scenarios.js'
import { runTrial } from './chaos/trial.js'

// The short version of every chaos scenario (docs/reliability.md), each on a fresh cluster of 3 node
// processes: on a single redis-server, and those that run on one on a Redis Cluster too. About 20 s
// each when the server behaves (30 s on a Redis Cluster, which takes a while to create), about 5
// minutes in all (6 on this 2-core machine). .taprc runs this file alone, with no other test file
// beside it. The guard is for a server that does not behave: a scenario that fails waits out its
// convergence grace and final resume.
t.setTimeout(14 * 60_000)

/**
 * The convergence bounds asserted here are twice the documented ones (measured on a quiet machine):
 * the machine that runs the tests may be busy with other work (tests must pass on a busy machine),
 * so deliveries and reconnects take longer, while the checker's counts must be zero all the same.
 */
const BUSY_MACHINE_FACTOR = 2

t.test('the checker finds every kind of violation', async (t) => {
  const at = 1_000_000
  const stored = (seq: number, clientId: string | null = `w-${seq}`): StoredEvent => ({
    conversationId: 1,
    seq,
    type: 'message.created',
    user: 'w',
    text: `text ${seq}`,
    clientId,
    at: at + seq,
  })
  const delivered = (seq: number, when: number, extra: Partial<Delivery> = {}): Delivery => ({
    conversationId: 1,
    seq,
    type: 'message.created',
    user: 'w',
    text: `text ${seq}`,
    at: when,
    final: false,
    ...extra,
  })
  const faultEndedAt = at + 100
  const input: CheckInput = {
    history: new Map([
      [1, [stored(1), stored(2), stored(3), stored(4)]],
      // A gap at seq 3, and one client id stored twice.
      [2, [{ ...stored(1, 'x'), conversationId: 2 }, { ...stored(2, 'x'), conversationId: 2 }, { ...stored(4, null), conversationId: 2 }]],
    ]),
    acks: [
      { clientId: 'w-1', conversationId: 1, seq: 1, text: 'text 1', at },
      { clientId: 'w-2', conversationId: 1, seq: 3, text: 'text 2', at },
      { clientId: 'w-9', conversationId: 1, seq: 4, text: 'text 4', at },
    ],
    readers: [
      { name: 'exact', reads: [1], deliveries: [1, 2, 3, 4].map((seq) => delivered(seq, faultEndedAt + 10 * seq)) },
      {
        name: 'wrong',
        reads: [1],
        deliveries: [
          delivered(1, at),
          delivered(3, at),
          delivered(2, at),
          delivered(2, at),
          delivered(5, at),
          delivered(1, at, { conversationId: 7 }),
          delivered(4, at, { text: 'changed' }),
        ],
      },
      { name: 'short', reads: [1], deliveries: [1, 2, 3].map((seq) => delivered(seq, at)) },
      { name: 'late', reads: [1], deliveries: [delivered(1, at), delivered(2, at), delivered(3, at), delivered(4, faultEndedAt + 5_000, { final: true })] },
    ],
    faultEndedAt,
  }
  const verdict = check(input)
  t.equal(verdict.lost, 2, 'an ack at another seq, and one whose id is not the stored one')
  t.equal(verdict.storedTwice, 1)
  t.equal(verdict.truthGaps, 1)
  const [exact, wrong, short, late] = verdict.readers
  t.match(exact, { missing: 0, duplicates: 0, outOfOrder: 0, unexpected: 0, textsDiffer: 0, onlyFromFinalResume: 0, convergenceMs: 40 })
  t.equal(exact?.worstLatencyMs, 136, 'seq 4 was committed at +4 and arrived at +140, 40 ms after the fault ended')
  t.match(wrong, { missing: 0, duplicates: 1, outOfOrder: 2, unexpected: 2, textsDiffer: 1 }, '3 before 2 and 2 after 3; 2 again; seq 5 and another conversation; a changed text')
  t.match(short, { missing: 1, convergenceMs: null })
  t.match(late, { missing: 0, onlyFromFinalResume: 1, convergenceMs: null })
  t.equal(verdict.convergenceMs, null, 'a reader that did not converge makes the scenario not converge')
  t.equal(verdict.missing, 1)
})

/** Scenarios run on a Redis Cluster under each bus routing, not only the default one. */
const EVERY_ROUTING = new Set(['redis-master-failover'])
const ROUTINGS = ['broadcast', 'pubsub']

interface Trial {
  scenario: Scenario
  redis: RedisKind
  env: Record<string, string>
}

/** The trials of a scenario: on a single redis-server, on a Redis Cluster, or both. */
function trialsOf(scenario: Scenario): Trial[] {
  const trials: Trial[] = []
  if (runsOn(scenario, 'single')) trials.push({ scenario, redis: 'single', env: {} })
  if (runsOn(scenario, 'cluster')) {
    const settings = EVERY_ROUTING.has(scenario.name) ? ROUTINGS.map((BUS_ROUTING) => ({ BUS_ROUTING })) : [{}]
    for (const env of settings) trials.push({ scenario, redis: 'cluster', env })
  }
  return trials
}

for (const { scenario, redis, env } of SCENARIOS.flatMap(trialsOf)) {
  const on = redis === 'single' ? '' : ` (Redis Cluster${env.BUS_ROUTING ? `, BUS_ROUTING=${env.BUS_ROUTING}` : ''})`
  t.test(`chaos: ${scenario.title}${on}`, async (t) => {
    const boundMs = scenario.boundMs * BUSY_MACHINE_FACTOR
    const result = await runTrial(scenario, 'short', { boundMs, redis, env })
    t.ok(result.acknowledged > 0 && result.deliveries > 0, `under load: ${result.acknowledged} messages acknowledged, ${result.deliveries} deliveries`)
    t.same(result.crashes, [], 'no node process crashed')
    for (const key of VIOLATIONS) t.equal(result.verdict[key], 0, key)
    t.same(result.problems, [], 'every write was acknowledged and nothing was refused')
    t.ok(
      result.convergenceMs !== null && result.convergenceMs <= boundMs,
      `converged within ${boundMs} ms of the fault's end (${result.convergenceMs ?? 'never'}; ${result.verdict.onlyFromFinalResume} events only through the final resume)`,
    )
    if (Object.keys(result.notes).length > 0) t.comment(`notes: ${JSON.stringify(result.notes)}`)
    if (!result.passed) {
      const { readers, ...totals } = result.verdict
      t.comment(JSON.stringify({ failures: result.failures, totals, costs: result.costs, notes: result.notes, logs: result.logs, readerCloses: result.readerCloses }))
      t.comment(JSON.stringify(readers.filter((reader) => reader.convergenceMs === null || reader.convergenceMs > boundMs)))
    }
  })
}
