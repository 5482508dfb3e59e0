import type { Test } from 'tap'

/**
 * Waiting on conditions, never on fixed times: `until` polls a probe, `within` holds a promise to a
 * bound that the code under test documents (with slack for a busy machine, given by the caller).
 */

/** Resolves with the probe's first truthy answer; rejects after `timeoutMs`, naming what was awaited. */
export async function until<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = await probe()
    if (found) return found
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Waits for a condition, and counts it as an assertion. */
export async function eventually(t: Test, probe: () => unknown, what: string, timeoutMs?: number): Promise<void> {
  t.ok(await until(probe, what, timeoutMs), what)
}

/** The promise's outcome, or a rejection naming `what` when it has not settled within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

/** The lines of a node's output that are not JSON: there should be none (logs are structured). */
export function unstructuredLines(output: readonly string[]): string[] {
  return output.filter((line) => {
    try {
      return typeof JSON.parse(line) !== 'object'
    } catch {
      return true
    }
  })
}

/** The node's JSON log lines whose msg includes `text`. */
export function logLines(output: readonly string[], text: string): any[] {
  return output.flatMap((line) => {
    try {
      const entry = JSON.parse(line)
      return typeof entry?.msg === 'string' && entry.msg.includes(text) ? [entry] : []
    } catch {
      return []
    }
  })
}
