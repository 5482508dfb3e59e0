import websocket from '@fastify/websocket'
import Fastify, { type FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { RedisStreamBus } from './bus/redis-stream.js'
import { createAccounts } from './chat/accounts.js'
import { createConversations } from './chat/conversations.js'
import { createMessages } from './chat/messages.js'
import { createSessions } from './chat/sessions.js'
import type { Config } from './config.js'
import { authRoutes } from './http/auth-routes.js'
import { conversationRoutes } from './http/conversation-routes.js'
import { installErrorHandler } from './http/error-handler.js'
import { healthRoutes } from './http/health-routes.js'
import { sessionAuth } from './http/session-auth.js'
import { installValidators } from './http/validation.js'
import { LocalHub } from './hub/local-hub.js'
import { createDb } from './storage/db.js'
import { closeAllSockets, wsGateway } from './ws/gateway.js'
import { MAX_PAYLOAD_BYTES } from './ws/protocol.js'

/** Request bodies larger than this are refused with 413; the largest valid one is far smaller. */
const BODY_LIMIT_BYTES = 64 * 1024

/**
 * Wires one node: Postgres, Redis, the bus, this node's hub, the domain services, the routes and the
 * WebSocket gateway. The database must exist and be migrated (see server.ts). app.close() releases all.
 */
export async function buildApp(config: Config): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      base: { node: config.nodeId },
      redact: ['req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]'],
    },
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: config.trustProxy,
    routerOptions: { ignoreTrailingSlash: true },
  })
  const log = app.log

  // pg attaches its client (connection settings included) to the error: log only what it says.
  const db = createDb(config.databaseUrl, (err) =>
    log.warn({ code: (err as { code?: string }).code, reason: err.message }, 'an idle Postgres connection failed; it will be replaced'),
  )
  const redis = new Redis(config.redisUrl, { enableAutoPipelining: true, lazyConnect: true })
  await redis.connect()
  const bus = new RedisStreamBus(redis, {
    key: `${config.redisPrefix}events`,
    maxLen: config.streamMaxLen,
    lingerMs: config.streamReadLingerMs,
    log,
  })

  const accounts = createAccounts({ db, bcryptCost: config.bcryptCost })
  const sessions = createSessions({ db, ttlSeconds: config.sessionTtlSeconds, cacheMs: config.sessionCacheMs })
  const conversations = createConversations({ db })
  const messages = createMessages({ db, bus, log, appendLingerMs: config.appendLingerMs })
  const hub = new LocalHub({
    readLog: messages.readLog,
    resumeLimit: config.resumeLimit,
    gapTimeoutMs: config.gapTimeoutMs,
    coalesceUsPerSubscriber: config.coalesceUsPerSubscriber,
    coalesceMaxMs: config.coalesceMaxMs,
    log,
  })

  let closing = false
  // JSON only: a cross-site form cannot send application/json without a CORS preflight.
  app.removeContentTypeParser('text/plain')
  installValidators(app)
  installErrorHandler(app)
  await app.register(websocket, {
    options: { maxPayload: MAX_PAYLOAD_BYTES, perMessageDeflate: false },
    preClose: async () => {
      closing = true
      await closeAllSockets(app)
    },
  })
  await app.register(sessionAuth, {
    sessions,
    cookieSecure: config.cookieSecure,
    sessionTtlSeconds: config.sessionTtlSeconds,
  })
  await app.register(healthRoutes, { db, redis, isClosing: () => closing })
  await app.register(authRoutes, { accounts, sessions })
  await app.register(conversationRoutes, { conversations, messages })
  await app.register(wsGateway, {
    hub,
    messages,
    allowedOrigins: config.allowedOrigins,
    maxBufferedBytes: config.wsMaxBufferedBytes,
    log,
  })

  app.addHook('onReady', () => bus.consume((events) => hub.relay(events)))
  app.addHook('onClose', async () => {
    await bus.close()
    await redis.quit()
    await db.destroy()
  })
  return app
}
