import { ChatError } from '../errors.js'

export interface BatcherOptions {
  /** Most items in one batch. */
  maxBatch: number
  /** Most batches running at once. */
  maxConcurrent: number
  /** Most items waiting for a batch; past it new calls are refused (backpressure, not an unbounded queue). */
  maxWaiting?: number
  /** Told the size of each batch as it leaves (metrics). */
  onBatch?: (size: number) => void
}

const MAX_WAITING = 10_000

/** Runs a batch: one outcome per item, in the items' order. */
export type RunBatch<In, Out> = (items: In[]) => Promise<PromiseSettledResult<Out>[]>

interface Waiting<In, Out> {
  item: In
  resolve: (out: Out) => void
  reject: (err: unknown) => void
}

/**
 * Turns concurrent calls into batches: one statement and one round trip for many callers. A batch
 * leaves when it is full, or at the end of the event-loop turn while a slot is free; while every
 * slot is busy, items wait and the next batch grows, and it leaves as soon as a slot frees. So an
 * idle batcher adds no wait (a lone call goes alone, at once), and under load the statements per
 * second stay flat while each carries more: the batch in flight is the linger.
 */
export class Batcher<In, Out> {
  private waiting: Waiting<In, Out>[] = []
  private running = 0
  private scheduled = false

  constructor(
    private readonly run: RunBatch<In, Out>,
    private readonly options: BatcherOptions,
  ) {}

  /** Resolves with the item's result; rejects with ChatError 'overloaded' when too many items wait already. */
  load(item: In): Promise<Out> {
    if (this.waiting.length >= (this.options.maxWaiting ?? MAX_WAITING))
      return Promise.reject(new ChatError('overloaded', 'too many requests are waiting for the database; try again shortly'))
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject })
      if (this.waiting.length >= this.options.maxBatch) this.flush()
      else this.schedule()
    })
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      this.flush()
    })
  }

  private flush(): void {
    while (this.running < this.options.maxConcurrent && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.options.maxBatch)
      this.options.onBatch?.(batch.length)
      this.running++
      void this.execute(batch).finally(() => {
        this.running--
        if (this.waiting.length > 0) this.flush()
      })
    }
  }

  private async execute(batch: Waiting<In, Out>[]): Promise<void> {
    let outcomes: PromiseSettledResult<Out>[]
    try {
      outcomes = await this.run(batch.map((w) => w.item))
    } catch (err) {
      for (const w of batch) w.reject(err)
      return
    }
    batch.forEach((w, i) => {
      const outcome = outcomes[i] as PromiseSettledResult<Out>
      if (outcome.status === 'fulfilled') w.resolve(outcome.value)
      else w.reject(outcome.reason)
    })
  }
}
