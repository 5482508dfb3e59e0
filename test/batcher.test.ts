import t from 'tap'
import { Batcher, type RunBatch } from '../src/storage/batcher.js'

/** A run function that records each batch and holds it until release() is called. */
function heldRuns() {
  const batches: number[][] = []
  const releases: (() => void)[] = []
  const run: RunBatch<number, number> = (items) => {
    batches.push(items)
    return new Promise((resolve) => releases.push(() => resolve(items.map((n) => ({ status: 'fulfilled', value: n * 10 })))))
  }
  const release = () => releases.shift()?.()
  return { batches, run, release }
}

const turn = () => new Promise((resolve) => setImmediate(resolve))

t.test('calls of one event-loop turn share a batch, and each gets its own result', async (t) => {
  const { batches, run, release } = heldRuns()
  const batcher = new Batcher(run, { maxBatch: 100, maxConcurrent: 1 })
  const results = Promise.all([1, 2, 3].map((n) => batcher.load(n)))
  await turn()
  release()
  t.same(await results, [10, 20, 30])
  t.same(batches, [[1, 2, 3]])
})

t.test('an idle batcher adds no wait: a lone call leaves alone, at the end of its turn', async (t) => {
  const { batches, run, release } = heldRuns()
  const sizes: number[] = []
  const batcher = new Batcher(run, { maxBatch: 100, maxConcurrent: 1, onBatch: (size) => sizes.push(size) })
  const first = batcher.load(1)
  await turn()
  t.same(batches, [[1]], 'sent in the turn after the call, with no linger')
  release()
  t.equal(await first, 10)
  const second = batcher.load(2)
  await turn()
  release()
  t.equal(await second, 20)
  t.same(sizes, [1, 1], 'each call that found the batcher idle went in a batch of its own')
})

t.test('while every slot is busy, calls wait and the next batch grows', async (t) => {
  const { batches, run, release } = heldRuns()
  const batcher = new Batcher(run, { maxBatch: 100, maxConcurrent: 1 })
  const first = batcher.load(1)
  await turn()
  const waiting = [2, 3, 4, 5].map((n) => batcher.load(n))
  await turn()
  t.same(batches, [[1]], 'the second batch waits for the slot')
  release()
  t.equal(await first, 10)
  await turn()
  t.same(batches, [[1], [2, 3, 4, 5]], 'everything that waited leaves together')
  release()
  t.same(await Promise.all(waiting), [20, 30, 40, 50])
})

t.test('a full batch leaves at once and batches never pass maxBatch', async (t) => {
  const { batches, run, release } = heldRuns()
  const batcher = new Batcher(run, { maxBatch: 2, maxConcurrent: 2 })
  const results = Promise.all([1, 2, 3, 4, 5].map((n) => batcher.load(n)))
  t.same(batches, [[1, 2], [3, 4]], 'two full batches left at once, inside the calling turn')
  release()
  release()
  await turn()
  t.same(batches, [[1, 2], [3, 4], [5]], 'the rest leaves as soon as a slot frees')
  release()
  t.same(await results, [10, 20, 30, 40, 50])
})

t.test('a batch that throws rejects each of its calls; a per-item failure rejects only that one', async (t) => {
  const failing = new Batcher<number, number>(async () => Promise.reject(new Error('down')), { maxBatch: 10, maxConcurrent: 1 })
  const both = [failing.load(1), failing.load(2)]
  for (const call of both) await t.rejects(call, { message: 'down' })

  const picky = new Batcher<number, number>(
    async (items) => items.map((n) => (n === 2 ? { status: 'rejected', reason: new Error('not two') } : { status: 'fulfilled', value: n })),
    { maxBatch: 10, maxConcurrent: 1 },
  )
  const [one, two, three] = [picky.load(1), picky.load(2), picky.load(3)]
  t.equal(await one, 1)
  await t.rejects(two, { message: 'not two' })
  t.equal(await three, 3)
})

t.test('past maxWaiting new calls are refused at once, and the queued ones still finish', async (t) => {
  const { batches, run, release } = heldRuns()
  const batcher = new Batcher(run, { maxBatch: 2, maxConcurrent: 1, maxWaiting: 3 })
  const first = batcher.load(1)
  await turn()
  const queued = [2, 3, 4].map((n) => batcher.load(n))
  await t.rejects(batcher.load(5), { name: 'ChatError', code: 'overloaded' })
  release()
  t.equal(await first, 10)
  await turn()
  release()
  await turn()
  release()
  t.same(await Promise.all(queued), [20, 30, 40])
  t.same(batches, [[1], [2, 3], [4]])
})
