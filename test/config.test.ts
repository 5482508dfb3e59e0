import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../src/config.js'

t.test('with no environment every setting has a loopback default', async (t) => {
  const config = loadConfig({})
  t.equal(config.host, '127.0.0.1')
  t.equal(config.port, 3000)
  t.equal(config.databaseUrl, 'postgres://postgres@127.0.0.1:5432/chat')
  t.equal(config.redisUrl, 'redis://127.0.0.1:6379')
  t.equal(config.servicesUnset, true, 'so the node may run alone on embedded storage')
  t.equal(config.dataDir, join(process.cwd(), 'data'))
  t.equal(loadConfig({ REDIS_URL: 'redis://10.0.0.2:6379' }).servicesUnset, false, 'either URL makes it a cluster node')
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
    PRESENCE_TTL_SECONDS: '60',
    RESUME_MAX_BYTES: '65536',
    HEADS_INTERVAL_MS: '250',
  })
  t.equal(config.port, 8080)
  t.equal(config.resumeMaxBytes, 65536)
  t.equal(config.headsIntervalMs, 250)
  t.equal(loadConfig({}).resumeMaxBytes, 128 * 1024, 'resume pages hold about 128 KiB by default')
  t.equal(loadConfig({}).headsIntervalMs, 1000, 'log heads are read every second by default')
  t.equal(config.presenceTtlSeconds, 60)
  t.equal(loadConfig({}).presenceTtlSeconds, 30, 'presence lasts 30 s without renewal by default')
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
    { REDIS_CLUSTER_NODES: '10.0.0.1' },
    { REDIS_CLUSTER_NODES: '10.0.0.1:6379,redis://10.0.0.2:6379' },
    { REDIS_CLUSTER_NODES: '10.0.0.1:70000' },
    { REDIS_CLUSTER_NODES: '::1:7000' },
    { REDIS_CLUSTER_NODES: '10.0.0.1:6379,' },
    { ALLOWED_ORIGINS: 'chat.example.com' },
    { WS_MAX_BUFFERED_BYTES: '-1' },
    { SESSION_CACHE_MS: '1h' },
    { STREAM_READ_LINGER_MS: '2.5' },
    { COALESCE_MAX_MS: '5000' },
    { SESSION_IDLE_SECONDS: '10' },
    { PRESENCE_TTL_SECONDS: '0' },
    { PRESENCE_TTL_SECONDS: 'forever' },
    { RESUME_MAX_BYTES: '100' },
    { HEADS_INTERVAL_MS: '0' },
    { RATE_LIMIT_MESSAGES: '30 per 10' },
    { RATE_LIMIT_LOGIN_ACCOUNT: '0/60' },
    { JWT_KEYS: '{"keys": 5}' },
    { JWT_KEYS: 'not json' },
    { ADMIN_USERNAME: 'root' },
    { EXTERNAL_JWT_ISSUER: 'https://site.example' },
    { EXTERNAL_JWT_ISSUER: 'https://site.example', EXTERNAL_JWT_AUDIENCE: 'chat' },
    { EXTERNAL_JWT_ALGORITHMS: 'HS256', EXTERNAL_JWT_ISSUER: 'https://site.example', EXTERNAL_JWT_AUDIENCE: 'chat', EXTERNAL_JWT_JWKS_URL: 'https://site.example/jwks' },
    { EXTERNAL_JWT_SECRET: 'short', EXTERNAL_JWT_ISSUER: 'https://site.example', EXTERNAL_JWT_AUDIENCE: 'chat' },
    { DB_CONNECT_TIMEOUT_MS: '0' },
    { DB_QUERY_TIMEOUT_MS: 'soon' },
    { REDIS_COMMAND_TIMEOUT_MS: '-5' },
    { WS_PING_INTERVAL_MS: '10' },
    { SHUTDOWN_DRAIN_MS: '1.5' },
    { SHUTDOWN_CLOSE_WINDOW_MS: 'all' },
    { SHUTDOWN_DRAIN_MS: '9000' },
    { SHUTDOWN_GRACE_MS: '6000' },
    { METRICS_PORT: 'ninety' },
    { METRICS_PORT: '0' },
    { METRICS_PORT: '70000' },
    { METRICS_PORT: '3000' },
    { METRICS_TOKEN: 'short' },
    { METRICS_TOKEN: 'sixteen chars with spaces' },
    { LOG_LEVEL: 'loud' },
    { HOST: 'not a host!' },
    { JWT_KEYS_FILE: '/nonexistent/keys.json' },
    { TRUST_PROXY: '11' },
    { TRUST_PROXY: 'yes' },
    { TRUST_PROXY: '10.0.0.0/33' },
    { TRUST_PROXY: '10.0.0.1, proxy.example.com' },
    { TRUST_PROXY: '10.0.0.0/8/1' },
  ]
  for (const env of bad) {
    const name = Object.keys(env)[0]!
    t.throws(() => loadConfig(env), { name: 'ConfigError', message: new RegExp(name) }, JSON.stringify(env))
  }
})

t.test('REDIS_CLUSTER_NODES: host:port, comma-separated; it makes a node a cluster node, and wins over REDIS_URL', async (t) => {
  t.equal(loadConfig({}).redisClusterNodes, undefined, 'unset by default: one Redis, at REDIS_URL')
  const config = loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-1.internal:7001,[::1]:7002', REDIS_URL: 'rediss://:secret@ignored.example:6379' })
  t.same(config.redisClusterNodes, [
    { host: '10.0.0.1', port: 7000 },
    { host: 'redis-1.internal', port: 7001 },
    { host: '::1', port: 7002 },
  ])
  t.equal(config.redisUrl, 'rediss://:secret@ignored.example:6379', 'kept for its password and TLS; its host is not used')
  t.equal(loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000' }).servicesUnset, false, 'a cluster is configured: no embedded mode')
})

t.test('TRUST_PROXY: off by default, a hop count, or the proxies\' addresses and CIDRs', async (t) => {
  t.equal(loadConfig({}).trustProxy, false)
  t.equal(loadConfig({ TRUST_PROXY: 'false' }).trustProxy, false)
  t.equal(loadConfig({ TRUST_PROXY: '1' }).trustProxy, 1)
  t.same(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,fd00::/8, loopback' }).trustProxy, ['10.0.0.0/8', '127.0.0.1', 'fd00::/8', 'loopback'])
  t.equal(loadConfig({ TRUST_PROXY: 'true' }).trustProxy, true, 'still accepted; the node warns that it trusts every hop')
})

t.test('rate limits read as points/seconds or off; a trusted issuer needs its key', async (t) => {
  const config = loadConfig({
    RATE_LIMIT_MESSAGES: '100/5',
    RATE_LIMIT_REGISTER_IP: 'off',
    EXTERNAL_JWT_ISSUER: 'https://site.example',
    EXTERNAL_JWT_AUDIENCE: 'chat',
    EXTERNAL_JWT_SECRET: 'x'.repeat(32),
  })
  t.same(config.rateLimits.messagesPerUser, { points: 100, seconds: 5 })
  t.equal(config.rateLimits.registrationsPerIp, 'off')
  t.same(config.rateLimits.loginFailuresPerAccount, { points: 10, seconds: 900 }, 'the default')
  t.match(config.externalIssuer, { issuer: 'https://site.example', audience: 'chat', key: { secret: 'x'.repeat(32) }, usernameClaim: 'preferred_username' })
  t.same(loadConfig({}).jwtKeys, [], 'no keys: the nodes share keys kept in Postgres')
})

t.test('timeouts, heartbeat and shutdown drain: defaults and the grace that must hold them', async (t) => {
  const defaults = loadConfig({})
  t.match(defaults, {
    dbConnectTimeoutMs: 2000,
    dbQueryTimeoutMs: 5000,
    redisCommandTimeoutMs: 2000,
    wsPingIntervalMs: 30_000,
    shutdownDrainMs: 5000,
    shutdownCloseWindowMs: 2000,
    shutdownGraceMs: 10_000,
  })
  const set = loadConfig({ SHUTDOWN_DRAIN_MS: '0', SHUTDOWN_CLOSE_WINDOW_MS: '0', SHUTDOWN_GRACE_MS: '1', WS_PING_INTERVAL_MS: '250' })
  t.match(set, { shutdownDrainMs: 0, shutdownCloseWindowMs: 0, shutdownGraceMs: 1, wsPingIntervalMs: 250 })
  t.throws(() => loadConfig({ SHUTDOWN_DRAIN_MS: '6000', SHUTDOWN_CLOSE_WINDOW_MS: '4000' }), {
    message: /SHUTDOWN_DRAIN_MS \+ SHUTDOWN_CLOSE_WINDOW_MS \(10000\) must be less than SHUTDOWN_GRACE_MS \(10000\)/,
  })
})

t.test('metrics: served nowhere by default; a port of its own, a token, or both', async (t) => {
  t.same(loadConfig({}).metrics, { port: undefined, token: undefined })
  t.same(loadConfig({ METRICS_PORT: '', METRICS_TOKEN: '' }).metrics, { port: undefined, token: undefined }, 'empty is unset')
  const token = 'a'.repeat(16)
  t.same(loadConfig({ METRICS_PORT: '9091', METRICS_TOKEN: token }).metrics, { port: 9091, token })
  t.throws(() => loadConfig({ PORT: '9091', METRICS_PORT: '9091' }), { message: /METRICS_PORT must differ from PORT \(9091\)/ })
})
