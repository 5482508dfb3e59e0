/** Time, as the client uses it: injectable, so that tests can drive reconnects and refreshes with a fake clock. */
export interface Clock {
  now(): number
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

/** One timer that is set again or cleared, never left running twice. */
export class Timer {
  private handle: unknown

  constructor(private readonly clock: Clock) {}

  set(ms: number, callback: () => void): void {
    this.clear()
    this.handle = this.clock.setTimeout(() => {
      this.handle = undefined
      callback()
    }, Math.max(0, ms))
  }

  clear(): void {
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle)
    this.handle = undefined
  }

  get pending(): boolean {
    return this.handle !== undefined
  }
}
