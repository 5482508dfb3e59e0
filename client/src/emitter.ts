type Listener<T> = (event: T) => void

/**
 * A typed event emitter whose events can also be read as async iterators. A listener that throws
 * does not stop the others or the client: its error is rethrown on its own, as EventTarget does.
 */
export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>()
  private readonly streams = new Set<() => void>()

  /** Calls `listener` for each event of this type until the returned function is called. */
  on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(type)
    if (!set) this.listeners.set(type, (set = new Set()))
    set.add(listener as Listener<never>)
    return () => this.off(type, listener)
  }

  off<K extends keyof Events>(type: K, listener: Listener<Events[K]>): void {
    this.listeners.get(type)?.delete(listener as Listener<never>)
  }

  once<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(type, (event) => {
      off()
      listener(event)
    })
    return off
  }

  /**
   * The events of this type from now on, as an async iterator, until `signal` aborts, the loop
   * breaks, or the emitter ends. Events wait in order for a slow reader; none is dropped.
   */
  stream<K extends keyof Events>(type: K, options: { signal?: AbortSignal } = {}): AsyncIterableIterator<Events[K]> {
    const queue: Events[K][] = []
    let wake: (() => void) | undefined
    let ended = false
    const end = () => {
      ended = true
      off()
      this.streams.delete(end)
      options.signal?.removeEventListener('abort', end)
      wake?.()
    }
    const off = this.on(type, (event) => {
      queue.push(event)
      wake?.()
    })
    this.streams.add(end)
    if (options.signal?.aborted) end()
    else options.signal?.addEventListener('abort', end, { once: true })
    const iterator: AsyncIterableIterator<Events[K]> = {
      next: async () => {
        while (queue.length === 0 && !ended) await new Promise<void>((resolve) => (wake = resolve))
        wake = undefined
        if (queue.length > 0) return { value: queue.shift() as Events[K], done: false }
        return { value: undefined, done: true }
      },
      return: async () => {
        end()
        queue.length = 0
        return { value: undefined, done: true }
      },
      [Symbol.asyncIterator]: () => iterator,
    }
    return iterator
  }

  protected emit<K extends keyof Events>(type: K, event: Events[K]): void {
    const set = this.listeners.get(type)
    if (!set) return
    for (const listener of [...set]) {
      try {
        ;(listener as Listener<Events[K]>)(event)
      } catch (err) {
        queueMicrotask(() => {
          throw err
        })
      }
    }
  }

  /** Ends every stream: their loops finish after the events already queued. */
  protected endStreams(): void {
    for (const end of [...this.streams]) end()
  }
}
