import { execFile, execFileSync } from 'node:child_process'
import { randomBytes, randomInt } from 'node:crypto'
import { promisify } from 'node:util'
import type { Placement } from '../../deploy/spawn-node.js'

const run = promisify(execFile)
const ip = (...args: string[]) => run('ip', args)

/** A network namespace, and how a process is placed in it (for spawnNode). */
export interface Namespace extends Placement {
  name: string
}

/**
 * A network namespace of the test's own: its loopback, up, and one end of a veth pair whose other
 * end is here. A process inside sees none of this machine's services (nothing answers on its
 * 127.0.0.1), and the test reaches it at `host`, a link-local address. Undefined where namespaces
 * cannot be made (`ip netns` needs root). The namespace and the link go when the test process ends;
 * a name and a /30 chosen at random keep concurrent runs apart.
 */
export async function privateNamespace(): Promise<Namespace | undefined> {
  const id = randomBytes(3).toString('hex')
  const name = `chat-test-${id}`
  // Interface names hold 15 characters at most.
  const [here, there] = [`ct${id}h`, `ct${id}n`]
  // 169.254.1–168.x: the link-local range, below 169.254.169.254, which clouds use.
  const subnet = `169.254.${randomInt(1, 169)}`
  const base = randomInt(0, 64) * 4
  const [hostAddress, nodeAddress] = [`${subnet}.${base + 1}`, `${subnet}.${base + 2}`]
  try {
    await ip('netns', 'add', name)
  } catch {
    return undefined
  }
  // On exit, rather than in a teardown: it runs however the test process ends but a SIGKILL, even
  // after an error thrown outside any test.
  process.once('exit', () => {
    for (const args of [['netns', 'del', name], ['link', 'del', here]]) {
      try {
        execFileSync('ip', args, { stdio: 'ignore' })
      } catch {
        // already gone
      }
    }
  })
  const inside = (...args: string[]) => ip('netns', 'exec', name, 'ip', ...args)
  await ip('link', 'add', here, 'type', 'veth', 'peer', 'name', there)
  await ip('link', 'set', there, 'netns', name)
  await ip('addr', 'add', `${hostAddress}/30`, 'dev', here)
  await ip('link', 'set', here, 'up')
  await inside('addr', 'add', `${nodeAddress}/30`, 'dev', there)
  await inside('link', 'set', there, 'up')
  await inside('link', 'set', 'lo', 'up')
  return { name, host: nodeAddress, launcher: ['ip', 'netns', 'exec', name] }
}
