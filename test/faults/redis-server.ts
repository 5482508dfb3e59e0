import { type ChildProcess, spawn } from 'node:child_process'
import { Redis } from 'ioredis'
import { freePort } from '../../deploy/spawn-node.js'
import type { RedisUnderTest } from './redis-under-test.js'

/**
 * A redis-server of a test's own, on a spare loopback port, that the test may stop, restart empty or
 * make refuse writes: never the machine's shared Redis. It keeps nothing on disk.
 */
export class OwnRedis implements RedisUnderTest {
  private child: ChildProcess | undefined

  private constructor(readonly port: number) {}

  static async start(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort())
    await redis.launch()
    return redis
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** Kills the server (SIGKILL: it loses everything) and waits for it to be gone. */
  async kill(): Promise<void> {
    const child = this.child
    this.child = undefined
    if (child) await killAndWait(child)
  }

  /** Kills the server and starts an empty one on the same port. */
  async restartEmpty(): Promise<void> {
    await this.kill()
    await this.launch()
  }

  /** After kill(): starts an empty server on the same port, so that a test can choose how long Redis stays down. */
  async startAgain(): Promise<void> {
    if (this.child) throw new Error(`redis-server on port ${this.port} is running`)
    await this.launch()
  }

  async refuseWrites(on: boolean): Promise<void> {
    await refuseWritesOn(this.port, on)
  }

  async stop(): Promise<void> {
    await this.kill()
  }

  private async launch(): Promise<void> {
    this.child = await launchRedisServer(this.port, [])
  }
}

/** Runs `run` on a connection of its own to the redis-server on a loopback port, then drops it. */
export async function onRedis<T>(port: number, run: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 })
  redis.on('error', () => {})
  try {
    await redis.connect()
    return await run(redis)
  } finally {
    redis.disconnect()
  }
}

/**
 * While on, the redis-server on a loopback port refuses every write with an OOM error and still
 * serves reads, as a Redis that is out of memory does (maxmemory with noeviction).
 */
export async function refuseWritesOn(port: number, on: boolean): Promise<void> {
  await onRedis(port, async (redis) => {
    if (on) await redis.config('SET', 'maxmemory-policy', 'noeviction')
    await redis.config('SET', 'maxmemory', on ? '1' : '0')
  })
}

/**
 * Starts a redis-server on a loopback port, keeping nothing on disk, with `args` added, and resolves
 * once it answers (within 20 s): it, not a server of another test that took the port first. It is
 * killed if this process exits first.
 */
export async function launchRedisServer(port: number, args: string[]): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args], {
    stdio: 'ignore',
  })
  // A test process that dies must not leave its Redis behind.
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  child.once('exit', () => process.off('exit', killOnExit))
  const deadline = Date.now() + 20_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${child.exitCode} (was the port taken?)`)
    try {
      const info = await onRedis(port, (redis) => redis.info('server'))
      if (new RegExp(`^process_id:${child.pid}\\r?$`, 'm').test(info)) return child
      throw new Error(`another redis-server answers on port ${port}`)
    } catch (err) {
      if (Date.now() > deadline) {
        await killAndWait(child)
        throw err
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

/** Kills a redis-server (SIGKILL: it loses everything) and waits for it to be gone. */
export async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGKILL')
  await exited
}
