import { setTimeout as sleep } from 'node:timers/promises'
import websocket, { type WebsocketPluginOptions } from '@fastify/websocket'
import Fastify, { type FastifyInstance } from 'fastify'
import { createAccessTokens } from './auth/access-tokens.js'
import { createExternalIssuer } from './auth/external-issuer.js'
import { createPasswords } from './auth/passwords.js'
import { configuredKeyRing, sharedKeyRing } from './auth/key-ring.js'
import { createAccessCheck } from './chat/access.js'
import { type Accounts, createAccounts } from './chat/accounts.js'
import { createBlocks } from './chat/blocks.js'
import { createConversations } from './chat/conversations.js'
import { HeadsWatch } from './chat/heads.js'
import { createInvites } from './chat/invites.js'
import { createLogReader } from './chat/log-reader.js'
import { createMembership } from './chat/membership.js'
import { createMessages } from './chat/messages.js'
import { createSearch } from './chat/search.js'
import { createPresenceAnnouncer } from './presence/announcer.js'
import { createPublisher } from './chat/publisher.js'
import { createReactions } from './chat/reactions.js'
import { createSubscriptions } from './chat/subscriptions.js'
import { createSessions } from './auth/sessions.js'
import type { Backends } from './backends.js'
import type { Config } from './config.js'
import { adminRoutes, profileRoutes } from './http/account-routes.js'
import { authRoutes } from './http/auth-routes.js'
import { authentication } from './http/authentication.js'
import { conversationRoutes } from './http/conversation-routes.js'
import { answerRoutingError, answerUnparsableRequest, installErrorHandler, writeErrorToConnection } from './http/error-handler.js'
import { healthRoutes } from './http/health-routes.js'
import { inviteRoutes } from './http/invite-routes.js'
import { requestLogFields } from './http/log-redaction.js'
import { membershipRoutes } from './http/membership-routes.js'
import { installApiDocs } from './http/openapi.js'
import { peopleRoutes } from './http/people-routes.js'
import { searchRoutes } from './http/search-routes.js'
import { reactionRoutes } from './http/reaction-routes.js'
import { installTransportRules } from './http/transport-rules.js'
import { installValidators } from './http/validation.js'
import { webClient } from './http/web-client.js'
import { LocalHub } from './hub/local-hub.js'
import { PresenceTracker } from './presence/tracker.js'
import { createDb, poolStats } from './storage/db.js'
import { serveMetrics } from './metrics/endpoint.js'
import { createNodeMetrics } from './metrics/node-metrics.js'
import { WS_PATH, closeAllSockets, wsGateway } from './ws/gateway.js'
import { ChatError, ConfigError } from './errors.js'
import { rateLimitedLog } from './logger.js'
import { Heartbeat } from './ws/heartbeat.js'
import { MAX_PAYLOAD_BYTES, WS_SUBPROTOCOL } from './protocol/limits.js'
import { SessionWatch } from './ws/session-watch.js'

/** A user whose last socket on a node closed still counts as online there this long (a third of the presence TTL at most). */
const PRESENCE_GRACE_MS = 5000

/** Request bodies larger than this are refused with 413; the largest valid one is far smaller. */
const BODY_LIMIT_BYTES = 64 * 1024

/** A socket closed by the server whose client does not answer the close within this is dropped, so that shutdown stays inside its grace. */
const CLOSE_HANDSHAKE_TIMEOUT_MS = 1000

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The first half of a shutdown: /readyz answers 503 at once, the balancer gets SHUTDOWN_DRAIN_MS
     * to notice while everything is still served, then every socket is closed with 1012, spread over
     * SHUTDOWN_CLOSE_WINDOW_MS. app.close() does the rest.
     */
    drain(): Promise<void>
  }
}

/**
 * Wires one node on the backends it is given (backends.ts): Postgres, the bus, presence and rate
 * limits, this node's hub, the domain services, the routes and the WebSocket gateway. The database
 * must exist and be migrated (see server.ts). app.close() releases all, the backends included.
 */
export async function buildApp(config: Config, backends: Backends): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      base: { node: config.nodeId },
      redact: ['req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]'],
      serializers: { req: requestLogFields },
    },
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: proxyTrust(config.trustProxy),
    routerOptions: { ignoreTrailingSlash: true },
    // Errors Fastify answers by itself, before any route or handler, in the documented shape too.
    frameworkErrors: answerRoutingError,
    clientErrorHandler: answerUnparsableRequest,
    // A request without Host is refused by http/transport-rules.ts, in the documented shape.
    http: { requireHostHeader: false },
  })
  const log = app.log
  backends.announce(log)
  if (config.trustProxy === true)
    log.warn('TRUST_PROXY=true believes every X-Forwarded-For hop, so a client can choose the address its limits count; set the hop count or the proxies\' addresses')
  const metrics = createNodeMetrics(config.nodeId, {
    socketsOpen: () => app.websocketServer.clients.size,
    subscriptions: () => hub.subscriptionCount,
    channels: () => hub.channelCount,
    usersOnline: () => presence.usersHere,
    pool: () => poolStats(db),
    streamLag: () => bus.lag(),
  })

  // pg attaches its client (connection settings included) to the error: log only what it says.
  const reasonOf = (err: unknown) => ({ code: (err as { code?: string }).code, reason: (err as Error).message })
  const unreachable = rateLimitedLog(log, 'warn', 'Postgres cannot be reached; requests that need it answer 503')
  const db = createDb(backends.databaseUrl, {
    onIdleError: (err) => log.warn(reasonOf(err), 'an idle Postgres connection failed; it will be replaced'),
    max: config.dbPoolMax,
    bounds: {
      connectTimeoutMs: config.dbConnectTimeoutMs,
      queryTimeoutMs: config.dbQueryTimeoutMs,
      onUnavailable: (err, reason) => {
        unreachable(reasonOf(err))
        metrics.dbUnavailable(reason)
      },
    },
  })
  const { bus, presence: presenceStore, limits, checks } = await backends.share(log)

  const keyRing =
    config.jwtKeys.length > 0
      ? await configuredKeyRing(config.jwtKeys)
      : await sharedKeyRing({ db, refreshMs: config.signingKeysRefreshMs, log })
  const accessTokens = createAccessTokens({
    keys: keyRing.current,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    ttlSeconds: config.accessTokenTtlSeconds,
  })
  const externalIssuer = config.externalIssuer && (await createExternalIssuer(config.externalIssuer))
  const sessions = createSessions({
    db,
    lifetimeSeconds: config.sessionTtlSeconds,
    idleSeconds: config.sessionIdleSeconds,
    cacheMs: config.sessionCacheMs,
    announceRevoked: (sessionIds) => bus.publishControl({ type: 'sessions.revoked', sessionIds }),
    log,
  })
  const sessionWatch = new SessionWatch({
    stillValid: sessions.stillValid,
    checkIntervalMs: config.sessionCheckSeconds * 1000,
    log,
  })
  const accounts = createAccounts({ db, passwords: await createPasswords(config.bcryptCost), sessions, limits, log })
  if (config.bootstrapAdmin) await bootstrapAdmin(accounts, config.bootstrapAdmin)
  const publish = createPublisher({ bus, log })
  const access = createAccessCheck(db)
  const presence = new PresenceTracker({
    store: presenceStore,
    ttlMs: config.presenceTtlSeconds * 1000,
    graceMs: Math.min(PRESENCE_GRACE_MS, (config.presenceTtlSeconds * 1000) / 3),
    announce: createPresenceAnnouncer({ db, publish }),
    log,
  })
  const membership = createMembership({ db, access, publish })
  const conversations = createConversations({ db, access, membership, publish, onlineAmong: (ids) => presenceStore.onlineAmong(ids) })
  const blocks = createBlocks({ db })
  const invites = createInvites({ db, access, membership, limits: { created: limits.invitesCreatedPerUser, uses: limits.inviteUsesPerIp } })
  const logPage = { maxEvents: config.resumeLimit, maxBytes: config.resumeMaxBytes }
  const messages = createMessages({ db, access, publish, onAppendBatch: metrics.appendBatch, postLimit: limits.messagesPerUser })
  const search = createSearch({ db, access })
  const reactions = createReactions({ db, publish, limit: limits.messagesPerUser })
  const readLog = createLogReader({ db, page: logPage })
  const hub = new LocalHub({
    interest: bus,
    readLog,
    backlogMaxEvents: logPage.maxEvents,
    backlogMaxBytes: logPage.maxBytes,
    gapTimeoutMs: config.gapTimeoutMs,
    coalesceUsPerSubscriber: config.coalesceUsPerSubscriber,
    coalesceMaxMs: config.coalesceMaxMs,
    meter: metrics.hub,
    log,
  })
  const subscriptions = createSubscriptions({ hub, readLog, access, meter: metrics.resume })
  const heads = new HeadsWatch({
    db,
    intervalMs: config.headsIntervalMs,
    watching: () => hub.watching,
    onHeads: (found) => hub.catchUp(found),
    log,
  })

  let closing = false
  // JSON only: a cross-site form cannot send application/json without a CORS preflight.
  app.removeContentTypeParser('text/plain')
  installValidators(app)
  installErrorHandler(app)
  await installApiDocs(app)
  serveMetrics(app, metrics, { ...config.metrics, host: config.host })
  // closeTimeout is a ws option that @types/ws does not know yet.
  const socketOptions: WebsocketPluginOptions['options'] & { closeTimeout: number } = {
    maxPayload: MAX_PAYLOAD_BYTES,
    perMessageDeflate: false,
    // The one subprotocol there is; a `bearer.<token>` offered beside it is a credential, never echoed.
    handleProtocols: (offered: Set<string>) => (offered.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false),
    closeTimeout: CLOSE_HANDSHAKE_TIMEOUT_MS,
  }
  await app.register(websocket, {
    options: socketOptions,
    preClose: async () => {
      closing = true
      await closeAllSockets(app)
    },
  })
  app.decorate('drain', async () => {
    closing = true
    await sleep(config.shutdownDrainMs)
    await closeAllSockets(app, config.shutdownCloseWindowMs)
  })
  // ws answers a handshake it cannot complete (no key, an unknown version, a subprotocol list that
  // does not parse) with a text body of its own; this gives it the documented one.
  app.websocketServer.on('wsClientError', (err, socket) => writeErrorToConnection(socket, 400, err.message))
  const heartbeat = new Heartbeat(app.websocketServer, config.wsPingIntervalMs)
  installTransportRules(app, WS_PATH)
  await app.register(authentication, {
    sessions,
    accessTokens,
    cookieSecure: config.cookieSecure,
    sessionTtlSeconds: config.sessionTtlSeconds,
    allowedOrigins: config.allowedOrigins,
    login: accounts.login,
    allowBasicAuth: config.allowBasicAuth,
  })
  await app.register(healthRoutes, { db, checks, isClosing: () => closing })
  await app.register(authRoutes, { accounts, sessions, accessTokens, keyRing, externalIssuer })
  await app.register(profileRoutes, { accounts })
  await app.register(adminRoutes, { accounts })
  await app.register(conversationRoutes, { conversations, messages })
  await app.register(membershipRoutes, { membership, conversations })
  await app.register(peopleRoutes, { conversations, blocks })
  await app.register(searchRoutes, { search })
  await app.register(inviteRoutes, { invites })
  await app.register(reactionRoutes, { reactions })
  await app.register(webClient, { root: config.webClientDir })
  await app.register(wsGateway, {
    connection: { subscriptions, post: messages.post, markRead: conversations.markRead, signal: publish.signal, maxBufferedBytes: config.wsMaxBufferedBytes, meter: metrics.socket, log },
    hub,
    presence,
    sessionWatch,
    allowedOrigins: config.allowedOrigins,
  })

  app.addHook('onReady', async () => {
    await bus.consume({
      delivery: hub,
      control: (message) => {
        sessions.evict(message.sessionIds)
        sessionWatch.end(message.sessionIds)
      },
      onRead: metrics.streamRead,
    })
    sessionWatch.start()
    keyRing.start()
    presence.start()
    heads.start()
    heartbeat.start()
  })
  app.addHook('onClose', async () => {
    heartbeat.stop()
    await heads.stop()
    sessionWatch.stop()
    keyRing.stop()
    await presence.stop()
    await bus.close()
    await db.destroy()
    await backends.stop()
  })
  return app
}

/**
 * Fastify reads a number as "believe no proxy", so a hop count is given as a trust function: the
 * socket's peer and the next `hops - 1` addresses of X-Forwarded-For are proxies, the one before
 * them is the client's, whatever the client itself wrote further left.
 */
function proxyTrust(setting: Config['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof setting === 'number' ? (_address, hop) => hop < setting : setting
}

/** Creates the configured first admin; a name or password that breaks the rules is a configuration error. */
async function bootstrapAdmin(accounts: Accounts, admin: NonNullable<Config['bootstrapAdmin']>): Promise<void> {
  try {
    await accounts.ensureAdmin(admin.username, admin.password)
  } catch (err) {
    if (err instanceof ChatError && err.code === 'invalid') throw new ConfigError(`ADMIN_USERNAME or ADMIN_PASSWORD: ${err.message}`)
    throw err
  }
}
