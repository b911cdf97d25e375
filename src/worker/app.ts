import { existsSync, readFileSync } from 'node:fs'
import type { Server } from 'node:https'
import type { TlsOptions } from 'node:tls'
import { STATUS_CODES } from 'node:http'
import { join } from 'node:path'
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import { registerAccessLog } from './access-log.js'
import { createClientErrorHandler } from './client-errors.js'
import { deadlineCheckIntervalMs, defaultContentSecurityPolicy, defaultLimits, type ConnectionLimits, type SecurityHeaders } from '../shared/settings.js'
import type { ConnectionAccounting } from './connection-accounting.js'
import type { Logger } from '../shared/logger.js'
import { isSafeRequestPath } from './request-guard.js'
import { hasConflictingHost } from './host-header.js'
import { registerSecurityHeaders } from './security-headers.js'
import { registerStaticFiles } from './static-files.js'
import { LogRateLimiter } from './log-rate-limiter.js'
import { RootConfinement, type Refusal } from './root-confinement.js'
import { watchRoot } from './root-watch.js'
import { withFastPath } from './fast-path.js'
import { installHttp2FastPath } from './http2-fast-path.js'
import { CachedResponses } from './cached-response.js'
import { closesWhileDraining } from './drain-rule.js'
import { secureContextOptions, type TlsMaterial } from './tls/tls-options.js'
import { SiteRules } from './site-rules/site-rules.js'
import { registerRuleHeaders } from './site-rules/rule-headers.js'

export interface AppOptions {
  /** Directory of static files to serve. */
  readonly root: string
  readonly logger: Logger
  readonly tls: TlsMaterial
  /** Reported by `/healthz`. */
  readonly workerId?: number
  /** While true, every response asks the client to close its connection. */
  readonly isDraining?: () => boolean
  readonly limits?: ConnectionLimits
  /** Counts connections and the causes of their closes. */
  readonly accounting?: ConnectionAccounting
  /** Called with each response's status code. */
  readonly onResponse?: (status: number) => void
  /** HTTP/2 over ALPN, with HTTP/1.1 for clients without it (default true). */
  readonly http2?: boolean
  /** Default: no HSTS, the default Content-Security-Policy. */
  readonly securityHeaders?: SecurityHeaders
  /** In-memory cache of small files, bytes (default 64 MiB; 0 streams everything from disk). */
  readonly fileCacheBytes?: number
  /** How old a cached answer may be before the disk is checked again (default 750 ms, static-files.ts). */
  readonly fileCacheRevalidateMs?: number
  /** Serve links whose targets lie outside the root (default false). */
  readonly followSymlinks?: boolean
  /** Never served, even through a link or with `followSymlinks`: certificates, keys, state. */
  readonly privatePaths?: readonly string[]
  /** Picks the certificate by server name (sni-contexts.ts); set at creation, as Node reads it only then. */
  readonly sniCallback?: TlsOptions['SNICallback']
}

export type App = FastifyInstance<Server>

function noSchemas (): never {
  throw new Error('seraph declares no route schemas')
}

/**
 * The HTTP/2 streams one connection may have open at once: nginx's default
 * (http2_max_concurrent_streams). Node sets none, and one client opening
 * 20,000 streams for a large file that it never reads grew a worker by
 * ~260 MiB. nghttp2 refuses the streams over the limit (RST_STREAM); the
 * ones it took, if they stall, end with their session (connection-accounting.ts).
 */
const http2MaxConcurrentStreams = 128

const fallbackNotFoundPage = '<!doctype html><title>404 Not Found</title><h1>404 Not Found</h1>\n'

/**
 * The Fastify app that serves `root` over HTTPS. Not listening yet: the worker
 * listens on the handle it got from the primary, tests call `listen({ port: 0 })`.
 */
export async function buildApp (options: AppOptions): Promise<App> {
  const limits = options.limits ?? defaultLimits
  const clientErrors = createClientErrorHandler(options.logger, options.accounting)
  const http2 = options.http2 ?? true
  const tlsOptions = {
    ...secureContextOptions(options.tls),
    ...(options.sniCallback === undefined ? {} : { SNICallback: options.sniCallback }),
    handshakeTimeout: limits.handshakeTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: deadlineCheckIntervalMs(limits)
  }
  // One factory call for both server kinds; Fastify's overloads type them apart.
  const createFastify = Fastify as unknown as (fastifyOptions: Record<string, unknown>) => App
  const app = createFastify({
    loggerInstance: options.logger,
    // access-log.ts writes one line per request instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // A draining worker still answers requests that arrive on its open
    // connections (with `Connection: close`) instead of Fastify's 503.
    return503OnClosing: false,
    ...(http2 ? { http2: true as const, https: { ...tlsOptions, allowHTTP1: true, settings: { maxConcurrentStreams: http2MaxConcurrentStreams } } } : { https: tlsOptions }),
    http2SessionTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // With accounting, --socket-timeout is its stall sweep (connection-accounting.ts), not a timer per socket.
    connectionTimeout: options.accounting === undefined ? limits.socketTimeoutMs : 0,
    clientErrorHandler: clientErrors.handler,
    // seraph declares no schemas: without these, Fastify loads Ajv and
    // fast-json-stringify (~100 modules, ~2.5 MiB per worker) to compile none.
    schemaController: { compilersFactory: { buildValidator: noSchemas, buildSerializer: noSchemas } },
    routerOptions: { maxParamLength: 2048 }
  })
  if (http2) applyHttp1Limits(app.server, limits, tlsOptions.connectionsCheckingInterval)
  app.server.maxConnections = limits.maxConnections
  options.accounting?.attach(app.server, limits.socketTimeoutMs)
  app.addHook('onClose', (_instance, done) => {
    clientErrors.flush()
    done()
  })

  registerAccessLog(app, options.logger, options.onResponse)
  const commonHeaders = registerSecurityHeaders(app, options.securityHeaders ?? { hstsMaxAgeSeconds: 0, contentSecurityPolicy: defaultContentSecurityPolicy })

  app.addHook('onRequest', (request, reply, done) => {
    if (hasConflictingHost(request.raw.rawHeaders)) return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: 'more than one Host' })
    if (isSafeRequestPath(request.raw.url ?? '/')) return done()
    reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: 'invalid path' })
  })

  const confinement = new RootConfinement({ root: options.root, followSymlinks: options.followSymlinks ?? false, privatePaths: options.privatePaths ?? [] })
  // The site's _redirects and _headers, read before the first request and
  // checked as often as cached files are; their headers hook goes before
  // the drain rule's, whose `connection: close` comes last on every path.
  const rules = new SiteRules({ root: options.root, confinement, logger: options.logger, checkIntervalMs: options.fileCacheRevalidateMs ?? 1000 })
  await rules.start()
  app.addHook('onClose', (_instance, done) => {
    rules.stop()
    done()
  })
  registerRuleHeaders(app, rules)

  const isDraining = options.isDraining
  if (isDraining !== undefined) {
    app.addHook('onSend', (request, reply, payload, done) => {
      if (closesWhileDraining(request.raw, isDraining)) reply.header('connection', 'close')
      done(null, payload)
    })
  }

  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500
    if (status >= 500) {
      request.log.error({ err: error, url: request.raw.url }, 'request failed')
      return reply.code(status).send({ statusCode: status, error: STATUS_CODES[status], message: 'internal server error' })
    }
    // A client's fault: answer it, no stack trace in the log.
    return reply.code(status).send({ statusCode: status, error: STATUS_CODES[status], message: error.message })
  })

  const onRefused = refusalLogger(options.logger)
  let notFoundPage = readNotFoundPage(confinement, options.root, onRefused)
  app.setNotFoundHandler((_request, reply) => {
    reply.code(404).type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(notFoundPage)
  })

  app.get('/healthz', (_request, reply) => {
    reply.header('cache-control', 'no-store').send({
      status: 'ok',
      worker: options.workerId ?? null,
      pid: process.pid,
      uptimeSeconds: Math.round(process.uptime())
    })
  })

  // One set of cached-file answers for Fastify's handler and the fast path.
  const responses = new CachedResponses(commonHeaders)
  const cache = await registerStaticFiles(app, {
    root: options.root,
    responses,
    confinement,
    onRefused,
    onStaleTwin: (path) => options.logger.warn({ path }, 'precompressed file does not hold its original (stale?): ignored, compressing the original'),
    rules,
    cacheBytes: options.fileCacheBytes ?? 64 * 1024 * 1024,
    ...(options.fileCacheRevalidateMs === undefined ? {} : { revalidateMs: options.fileCacheRevalidateMs })
  })
  // A deploy by symlink swap: the cache drops itself (file-cache.ts); the 404
  // page is the new release's too. Read synchronously, once per deploy, so
  // no 404 answered after the move carries the old page.
  confinement.onMove((from, to) => {
    notFoundPage = readNotFoundPage(confinement, options.root, onRefused)
    options.logger.info({ root: options.root, from, to }, 'root moved: serving the new tree, file cache dropped')
  })
  const stopWatchingRoot = watchRoot(confinement)
  app.addHook('onClose', (_instance, done) => {
    stopWatchingRoot()
    done()
  })

  // Cached small files are answered before Fastify's request handler.
  const server = app.server as unknown as { listeners (event: 'request'): Function[], removeListener (event: 'request', fn: Function): void, prependListener (event: 'request', fn: Function): void }
  const fastifyHandler = server.listeners('request')[0] as Parameters<typeof withFastPath>[1]
  server.removeListener('request', fastifyHandler)
  server.prependListener('request', withFastPath({
    cache,
    logger: options.logger,
    responses,
    rules,
    ...(options.isDraining === undefined ? {} : { isDraining: options.isDraining }),
    ...(options.onResponse === undefined ? {} : { onResponse: options.onResponse })
  }, fastifyHandler))
  // And over HTTP/2, before Node's compat layer too (its 'stream' listener
  // exists now: Fastify's 'request' listener made the server add it).
  const installed = http2 && installHttp2FastPath(app.server, {
    cache,
    logger: options.logger,
    responses,
    rules,
    ...(options.onResponse === undefined ? {} : { onResponse: options.onResponse })
  })
  // Still correct without it (the compat layer answers), only slower.
  if (http2 && !installed) options.logger.warn('no compat stream listener found: HTTP/2 fast path off')

  return app
}

// Http2SecureServer takes no HTTP/1 options in its constructor; it reads
// them from the instance when it starts listening.
// https://github.com/nodejs/node/blob/v20.x/lib/internal/http2/core.js (Http2SecureServer)
function applyHttp1Limits (server: object, limits: ConnectionLimits, checkingIntervalMs: number): void {
  Object.assign(server, {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: checkingIntervalMs
  })
}

function readNotFoundPage (confinement: RootConfinement, root: string, onRefused: (urlPath: string, reason: Refusal) => void): Buffer | string {
  const path = join(root, '404.html')
  try {
    const verdict = confinement.checkSync(path)
    if (verdict.allowed) return readFileSync(verdict.realPath)
    if (existsSync(path)) onRefused('/404.html', verdict.reason)
  } catch {}
  return fallbackNotFoundPage
}

// One warning per refused path and minute: a crawler hammering a bad link
// cannot flood the log. The link's target is never logged (it may be a secret's path).
function refusalLogger (logger: Logger): (urlPath: string, reason: Refusal) => void {
  const limiter = new LogRateLimiter(1, 60_000, (path, suppressed) => logger.warn({ path, suppressed }, 'refused paths suppressed from the log'))
  return (path, reason) => {
    if (limiter.allow(path)) logger.warn({ path, reason }, 'refused a file outside the root or private; answered 404 (see --follow-symlinks)')
  }
}
