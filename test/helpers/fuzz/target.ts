import { randomBytes } from 'node:crypto'
import { Pool } from 'undici'
import { type NodeProcess, freePort, spawnNode } from '../../../deploy/spawn-node.js'
import { request, sessionCookieOf } from '../http-client.js'
import { testNodeEnv } from '../node-env.js'
import type { Seeds, Who } from './inputs.js'

/** The fuzzer's own accounts. Their passwords are random, so no generated request can change them. */
export interface Account {
  username: string
  password: string
  id: number
  cookie: string
  accessToken: string
}

/** A seeded node under attack: what the cases aim at, and the credentials they present. */
export interface FuzzTarget {
  url: string
  pool: Pool
  seeds: Seeds
  accounts: Record<Exclude<Who, 'nobody'>, Account>
  /** Signs an account in again (a case may have logged it out or revoked its session). */
  signInAgain(who: Exclude<Who, 'nobody'>): Promise<void>
}

const newPassword = () => `fuzz-${randomBytes(12).toString('base64url')}`

/**
 * A real node process for the fuzzer, with an admin account configured. `logViolations` lists the
 * lines it wrote that break the rules: any that is not a JSON log line (a stack trace, a library's
 * own print) and any at level error or above (a 500 or a failed frame is logged so).
 */
export async function startFuzzNode(env: Record<string, string>): Promise<{ node: NodeProcess; admin: { username: string; password: string }; logViolations: () => string[] }> {
  const admin = { username: 'fuzzadmin', password: newPassword() }
  const violations: string[] = []
  const onLine = (line: string) => {
    let entry: { level?: unknown; msg?: unknown; err?: { type?: unknown; message?: unknown } }
    try {
      entry = JSON.parse(line)
    } catch {
      violations.push(`the node wrote a line that is not a log entry | ${line.slice(0, 300)}`)
      return
    }
    // The kind of finding (before ' | ') is the message and the error's type, not the line's time or request id.
    if (typeof entry.level !== 'number' || entry.level >= 50)
      violations.push(`the node logged an error: ${entry.msg} (${entry.err?.type}: ${String(entry.err?.message).split(':')[0]}) | ${line.slice(0, 600)}`)
  }
  const node = await spawnNode(
    await freePort(),
    { ...(await testNodeEnv()), LOG_LEVEL: 'warn', ADMIN_USERNAME: admin.username, ADMIN_PASSWORD: admin.password, ...env },
    onLine,
  )
  return { node, admin, logViolations: () => violations }
}

async function signIn(url: string, username: string, password: string): Promise<{ cookie: string; accessToken: string }> {
  const login = await request(url, 'POST', '/auth/login', { body: { username, password } })
  const cookie = sessionCookieOf(login)
  if (login.status !== 200 || !cookie) throw new Error(`sign-in of ${username}: ${login.status} ${JSON.stringify(login.body)}`)
  // A token for the cookie, not for the password: one bcrypt comparison per sign-in is enough.
  const token = await request(url, 'POST', '/auth/token', { cookie })
  if (token.status !== 200) throw new Error(`token for ${username}: ${token.status} ${JSON.stringify(token.body)}`)
  return { cookie, accessToken: token.body.access_token }
}

async function account(url: string, username: string, password: string): Promise<Account> {
  const credentials = await signIn(url, username, password)
  const me = await request(url, 'GET', '/api/me', { cookie: credentials.cookie })
  return { username, password, id: me.body.id, ...credentials }
}

async function created(url: string, cookie: string, path: string, body: unknown): Promise<string> {
  const res = await request(url, 'POST', path, { cookie, body })
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body.url
}

const lastNumber = (url: string) => Number(url.split('/').pop())

/**
 * Gives the node (on a database of its own, so the names are free) something to aim at: a member who owns an open, a private and a public
 * conversation with messages, and a direct one with an outsider; the configured admin; and a
 * victim account for the admin routes.
 */
export async function seedTarget(url: string, admin: { username: string; password: string }): Promise<FuzzTarget> {
  const register = async (name: string) => {
    const password = newPassword()
    const res = await request(url, 'POST', '/auth/register', { body: { username: name, password } })
    if (res.status !== 201) throw new Error(`register ${name}: ${res.status} ${JSON.stringify(res.body)}`)
    return account(url, name, password)
  }
  const accounts = {
    member: await register('fuzzmember'),
    outsider: await register('fuzzoutsider'),
    admin: await account(url, admin.username, admin.password),
  }
  const victim = await register('fuzzvictim')
  const { cookie } = accounts.member
  const conversationIds: number[] = []
  for (const kind of ['open', 'private', 'public']) {
    conversationIds.push(lastNumber(await created(url, cookie, '/api/conversations', { title: `fuzz ${kind}`, kind })))
  }
  const direct = await request(url, 'POST', `/api/direct/${accounts.outsider.username}`, { cookie })
  conversationIds.push(lastNumber(direct.body.url))
  const messageIds = new Set<number>()
  for (const id of conversationIds) {
    for (const text of ['first', 'second *markdown*', 'third']) messageIds.add(lastNumber(await created(url, cookie, `/api/conversations/${id}`, { text })))
  }
  const target: FuzzTarget = {
    url,
    pool: new Pool(url, { connections: 32 }),
    seeds: {
      host: new URL(url).host,
      usernames: [accounts.member.username, accounts.outsider.username, admin.username, victim.username],
      conversationIds,
      messageIds: [...messageIds],
      victimUserId: victim.id,
    },
    accounts,
    async signInAgain(who) {
      const own = accounts[who]
      Object.assign(own, await signIn(url, own.username, own.password))
    },
  }
  return target
}
