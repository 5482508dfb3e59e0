import t from 'tap'
import { freePort, spawnNode } from '../deploy/spawn-node.js'
import { isolatedEnvironment } from './helpers/isolation.js'
import { testNodeEnv } from './helpers/node-env.js'

// Every bad setting stops a real node with exit code 2 and one line that names the variable: those
// read from the environment, and those found only when the node starts (keys, the first admin).
const isolated = await isolatedEnvironment(t, 'config_errors')
const base = { DATABASE_URL: isolated.databaseUrl, REDIS_URL: isolated.redisUrl, REDIS_PREFIX: isolated.redisPrefix, ...(await testNodeEnv()) }

const cases: Record<string, string>[] = [
  { LOG_LEVEL: 'loud' },
  { JWT_KEYS_FILE: '/nonexistent/keys.json' },
  { JWT_KEYS: '[{"kty": "oct", "kid": "k1", "k": "c2VjcmV0"}]' },
  { TRUST_PROXY: 'everyone' },
  { REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1' },
  { RATE_LIMIT_MESSAGES: 'lots' },
  { ADMIN_USERNAME: 'root-admin', ADMIN_PASSWORD: 'short' },
  {
    EXTERNAL_JWT_ISSUER: 'https://site.example',
    EXTERNAL_JWT_AUDIENCE: 'chat',
    EXTERNAL_JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----',
  },
]

for (const env of cases) {
  const name = Object.keys(env).at(-1) as string
  t.test(`${name}=${env[name]!.slice(0, 40)}`, async (t) => {
    const start = spawnNode(await freePort(), { ...base, ...env })
    const failure = await start.then(
      () => undefined,
      (err: Error) => err,
    )
    t.ok(failure, 'the node does not start')
    t.match(failure?.message, /exited with 2 /, 'exit code 2')
    t.match(failure?.message, new RegExp(`configuration error: .*${name.replace('ADMIN_USERNAME', 'ADMIN_(USERNAME|PASSWORD)')}`), 'the message names the variable')
  })
}
