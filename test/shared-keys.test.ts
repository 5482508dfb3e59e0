import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { startCluster } from './helpers/cluster.js'
import { newUsername, register, request, tokensFor } from './helpers/http-client.js'
import { testSigningJwk } from './helpers/node-env.js'
import { until } from './helpers/waiting.js'

const PASSWORD = 'correct horse battery'
const REFRESH_MS = 1000
const keysScript = fileURLToPath(new URL('../deploy/keys.ts', import.meta.url))

// JWT_KEYS unset: the nodes, started together, must agree on keys kept in their shared database.
const nodes = await startCluster(t, 'shared-keys', 3, { JWT_KEYS: '', SIGNING_KEYS_REFRESH_MS: String(REFRESH_MS) })
const [a, b, c] = nodes.map((node) => node.url) as [string, string, string]

const kidsOf = async (url: string) => ((await request(url, 'GET', '/.well-known/jwks.json')).body.keys as { kid: string }[]).map((k) => k.kid)
const kidOfToken = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[0] as string, 'base64url').toString()).kid as string
const me = (url: string, bearer: string) => request(url, 'GET', '/api/me', { bearer })

async function tokensOn(url: string) {
  const { username } = await register(url, newUsername('keys'), PASSWORD)
  return { username, tokens: await tokensFor(url, username, PASSWORD) }
}

function runKeys(command: string) {
  return promisify(execFile)(process.execPath, ['--import', 'tsx', keysScript, command], {
    env: { ...process.env, DATABASE_URL: nodes.databaseUrl, SIGNING_KEYS_REFRESH_MS: String(REFRESH_MS) },
  })
}

t.test('nodes started together share one key: a token from any node works on every node', async (t) => {
  const published = await Promise.all([a, b, c].map(kidsOf))
  t.equal(published[0]?.length, 1, 'one key was made')
  t.same(published[1], published[0])
  t.same(published[2], published[0])
  const { username, tokens } = await tokensOn(a)
  for (const url of [a, b, c]) t.equal((await me(url, tokens.access_token)).body.username, username, `accepted by ${url}`)
  const renewed = await request(b, 'POST', '/auth/token/refresh', { body: { refresh_token: tokens.refresh_token } })
  t.equal(renewed.status, 200)
  t.equal((await me(c, renewed.body.access_token)).status, 200)
})

t.test('a rotation: every node learns the new key before any signs with it, and old tokens stay valid', async (t) => {
  const [before] = await kidsOf(a)
  const old = await tokensOn(c)
  const { stdout } = await runKeys('rotate')
  const added = /^added (k-\S+):/.exec(stdout)?.[1] as string
  t.ok(added, 'a key was added')
  t.match(stdout, `${before}\tsigns\n${added}\tverifies, signs later`, 'it signs only once every node has had time to load it')
  for (const url of [a, b, c]) await until(async () => (await kidsOf(url)).includes(added), `${url} to know the new key`)
  const after = await until(async () => {
    const signed = await tokensOn(a)
    return kidOfToken(signed.tokens.access_token) === added && signed
  }, 'a token signed with the new key', 30_000)
  for (const url of [a, b, c]) {
    t.equal((await me(url, after.tokens.access_token)).status, 200, `the new key's token is accepted by ${url}`)
    t.equal((await me(url, old.tokens.access_token)).status, 200, `the old key's token is still accepted by ${url}`)
  }
  t.match((await runKeys('list')).stdout, new RegExp(`${added}\\tsigns`))
})

t.test('JWT_KEYS wins over the shared keys when it is set', async (t) => {
  const jwk = await testSigningJwk()
  const [configured] = await startCluster(t, 'shared-keys-configured', 1, { JWT_KEYS: JSON.stringify([jwk]) })
  t.same(await kidsOf(configured!.url), [jwk.kid])
  const { tokens } = await tokensOn(configured!.url)
  t.equal(kidOfToken(tokens.access_token), jwk.kid)
})
