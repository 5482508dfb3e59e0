import t from 'tap'
import { loadConfig } from '../src/config.js'

t.test('with no environment every setting has a loopback default', async (t) => {
  const config = loadConfig({})
  t.equal(config.host, '127.0.0.1')
  t.equal(config.port, 3000)
  t.equal(config.databaseUrl, 'postgres://postgres@127.0.0.1:5432/chat')
  t.equal(config.redisUrl, 'redis://127.0.0.1:6379')
  t.same(config.allowedOrigins, [])
  t.equal(config.cookieSecure, false)
  t.ok(config.nodeId.length > 0)
})

t.test('settings are read and normalised', async (t) => {
  const config = loadConfig({
    PORT: '8080',
    ALLOWED_ORIGINS: 'https://chat.example.com/, http://localhost:5173',
    COOKIE_SECURE: 'true',
    NODE_ID: 'node-a',
    REDIS_PREFIX: 'prod:',
  })
  t.equal(config.port, 8080)
  t.same(config.allowedOrigins, ['https://chat.example.com', 'http://localhost:5173'])
  t.equal(config.cookieSecure, true)
  t.equal(config.nodeId, 'node-a')
  t.equal(config.redisPrefix, 'prod:')
})

t.test('bad settings are refused with a message that names them', async (t) => {
  const bad: Record<string, string>[] = [
    { PORT: 'eighty' },
    { PORT: '70000' },
    { BCRYPT_COST: '4' },
    { COOKIE_SECURE: 'yes please' },
    { DATABASE_URL: 'mysql://localhost/chat' },
    { REDIS_URL: 'not a url' },
    { ALLOWED_ORIGINS: 'chat.example.com' },
    { WS_MAX_BUFFERED_BYTES: '-1' },
    { SESSION_CACHE_MS: '1h' },
    { APPEND_LINGER_MS: '500' },
    { STREAM_READ_LINGER_MS: '2.5' },
    { COALESCE_MAX_MS: '5000' },
  ]
  for (const env of bad) {
    const name = Object.keys(env)[0]!
    t.throws(() => loadConfig(env), { name: 'ConfigError', message: new RegExp(name) }, name)
  }
})
