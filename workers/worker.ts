/**
 * A worker process: builds its own TLS context from the certificate files,
 * listens on the socket the primary bound and shares, serves the blog, and
 * drains on request. It never forks. When the primary disappears, node:cluster
 * exits it (the IPC channel's 'disconnect').
 */
import { readFileSync } from 'node:fs'
import type { Server as HttpServer } from 'node:http'
import type { ServerHttp2Session } from 'node:http2'
import type { Socket } from 'node:net'
import { Server as NetServer } from 'node:net'
import { X509Certificate } from 'node:crypto'
import { buildApp, type App } from '../src/app.js'
import { ConnectionAccounting } from '../src/connection-accounting.js'
import { isSeraphError } from '../src/errors.js'
import { createLogOutput, type Logger } from '../src/logger.js'
import { dispatch, type CertificateEntry, type DispatchTable, type DrainMode, type PrimaryMessage, type WorkerMessage, type WorkerSettings } from '../src/messages.js'
import { LRUCache } from 'lru-cache'
import { PendingReplies } from '../src/pending-replies.js'
import { createRedirectServer } from '../src/redirect-server.js'
import { secureContextOptions, type TlsMaterial } from '../src/tls-options.js'
import { tlsPolicyOptions } from '../src/tls-policy.js'
import { sessionProtocolVersion, tls13 } from '../src/tls-session-data.js'
import { WorkerMetrics } from '../src/worker-metrics.js'
import { SniContexts } from '../src/sni-contexts.js'
import { AcmeChallengeResponder } from '../src/acme-challenge-responder.js'

/** A session lookup that takes longer than this resumes nothing: the client does a full handshake. */
const sessionLookupTimeoutMs = 200

let logger: Logger | undefined
let flushLogs = (): Promise<void> => Promise.resolve()
let app: App | undefined
let settings: WorkerSettings | undefined
let tls: TlsMaterial | undefined
let draining = false
let signalsReceived = 0
let metrics: WorkerMetrics | undefined
let accounting: ConnectionAccounting | undefined
const sessionLookups = new PendingReplies<string | null>(sessionLookupTimeoutMs)
// Every TLS 1.3 ClientHello carries a random legacy session ID, so asking the
// primary about each ID would cost an IPC round trip per handshake for
// nothing. The primary tells every worker which IDs it holds; only those are
// looked up.
let knownSessionIds: LRUCache<string, true> | undefined
const http2Sessions = new Set<ServerHttp2Session>()
let redirectServer: HttpServer | undefined
let receiveRedirectHandle: (message: { httpsPort: number, handle: unknown }) => void = () => {}
// Both exist before 'start': certificate and challenge updates apply whenever they come.
// The ACME contexts made in 'start' come before `tls`: they still get the policy.
const sni = new SniContexts(() => tls === undefined ? tlsPolicyOptions(settings?.tlsPolicy) : secureContextOptions(tls))
const challenges = new AcmeChallengeResponder(() => settings?.tlsPolicy)
const redirectHandle = new Promise<{ httpsPort: number, handle: unknown }>((resolve) => { receiveRedirectHandle = resolve })

function send (message: WorkerMessage, callback?: () => void): void {
  if (process.send === undefined || !process.connected) callback?.()
  else process.send(message, undefined, {}, callback)
}

function readTlsMaterial (from: WorkerSettings, ticketKeys: Buffer): TlsMaterial {
  // --domain without --cert: the first ACME certificate is the default one.
  const first = from.acmeDefault ? sni.acmeEntries[0] : undefined
  if (from.acmeDefault && first === undefined) throw new Error('no certificate to serve yet')
  sni.setManual(from.extraPairs.map((pair) => ({ cert: readFileSync(pair.certPath), key: readFileSync(pair.keyPath) })))
  return {
    cert: first === undefined ? readFileSync(from.certPath) : Buffer.from(first.cert),
    key: first === undefined ? readFileSync(from.keyPath) : Buffer.from(first.key),
    ticketKeys,
    sessionTimeoutMs: from.sessionTimeoutMs,
    policy: from.tlsPolicy
  }
}

async function start (startSettings: WorkerSettings, handle: unknown): Promise<void> {
  settings = startSettings
  sni.setAcme(settings.certificates)
  challenges.update(settings.challenges)
  const output = createLogOutput({ role: 'worker', level: settings.logLevel, workerId: settings.workerId, buffered: true })
  logger = output.logger
  flushLogs = output.flush
  // Each worker reads the files and builds its TLS context itself: no TLS
  // state crosses a process boundary, only the shared ticket keys.
  tls = readTlsMaterial(settings, Buffer.from(settings.ticketKeys, 'base64'))
  metrics = new WorkerMetrics(settings.workerId, output.droppedLines)
  accounting = new ConnectionAccounting(metrics)
  const workerMetrics = metrics
  app = await buildApp({
    root: settings.root,
    logger,
    tls,
    workerId: settings.workerId,
    isDraining: () => draining,
    limits: settings.limits,
    accounting,
    http2: settings.http2,
    securityHeaders: settings.securityHeaders,
    fileCacheBytes: settings.fileCacheBytes,
    followSymlinks: settings.followSymlinks,
    privatePaths: settings.privatePaths,
    ...(settings.extraPairs.length > 0 || settings.certificates.length > 0 ? { sniCallback: sni.callback } : {}),
    onResponse: (status) => workerMetrics.response(status)
  })
  await app.ready()
  const server = app.server
  challenges.attach(server)
  // --max-connections: Node closes the surplus at once and tells us here.
  server.on('drop', () => workerMetrics.rejected())
  if (settings.sessionCache) shareSessionsThroughPrimary(server)
  server.on('session', (session: ServerHttp2Session) => {
    http2Sessions.add(session)
    // A session swallows its socket's errors (a reset, bad frames): record
    // them as the connection's close cause. The session then ends.
    session.on('error', (err: NodeJS.ErrnoException) => {
      const record = accounting?.blame(session.socket as unknown as Socket, err)
      logger?.debug({ code: err.code, cause: record?.cause }, 'http2 session error')
    })
    session.once('close', () => http2Sessions.delete(session))
  })
  await listenOn(server as unknown as HttpServer, handle)
  if (settings.redirect) {
    const { httpsPort, handle: plainHandle } = await redirectHandle
    const plain = createRedirectServer(httpsPort, settings.limits, logger, {
      isDraining: () => draining,
      answerFirst: (request, response) => challenges.answerHttp(request, response)
    })
    await listenOn(plain, plainHandle)
    redirectServer = plain
  }
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  logger.debug({ port }, 'listening')
  send({ act: 'listening', port })
}

function listenOn (server: HttpServer, handle: unknown): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(handle, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

// TLS 1.2 clients without tickets resume by session ID; the primary holds
// the cache so that any worker can resume a session another one made.
function shareSessionsThroughPrimary (server: App['server']): void {
  server.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
    if (sessionProtocolVersion(data) !== tls13) send({ act: 'session-store', id: id.toString('base64'), data: data.toString('base64') })
    done()
  })
  server.on('resumeSession', (id: Buffer, done: (err: Error | null, data: Buffer | null) => void) => {
    const key = id.toString('base64')
    if (knownSessionIds?.has(key) !== true) return done(null, null)
    sessionLookups.ask((requestId) => send({ act: 'session-get', requestId, id: key }))
      .then((data) => done(null, data === null || data === undefined ? null : Buffer.from(data, 'base64')), () => done(null, null))
  })
}

/**
 * Stops accepting, lets in-flight requests finish, then exits; `force` closes
 * every connection now. On reload, idle keep-alive connections are not cut:
 * each gets `Connection: close` on its next response, or ends at its
 * keep-alive timeout, so no request can race the close.
 */
function shutdown (force: boolean, mode: DrainMode): void {
  if (app === undefined || settings === undefined) process.exit(0)
  const current = app
  if (force) {
    logger?.warn({ connections: accounting?.open }, 'forced shutdown: closing all connections')
    accounting?.destroyAll()
    return
  }
  if (draining) return
  draining = true
  accounting?.startShutdown()
  logger?.info({ connections: accounting?.open, mode }, 'draining')
  const deadline = mode === 'reload'
    ? Math.max(settings.shutdownTimeoutMs, settings.limits.keepAliveTimeoutMs + 1000)
    : settings.shutdownTimeoutMs
  const timer = setTimeout(() => shutdown(true, mode), deadline)
  const finish = (): void => {
    current.close().then(() => {
      clearTimeout(timer)
      logger?.info('drained')
      return flushLogs().then(() => process.exit(0))
    }, (err: unknown) => {
      logger?.error({ err }, 'close failed')
      return flushLogs().then(() => process.exit(1))
    })
  }
  // HTTP/2: GOAWAY lets open streams finish and tells the client to send
  // new ones on a new connection (to a worker that is not draining).
  for (const session of http2Sessions) session.close()
  if (mode === 'shutdown') {
    // http.Server#close() also closes idle keep-alive connections.
    redirectServer?.close()
    finish()
    return
  }
  // net.Server#close() stops accepting but leaves open connections alone
  // (drain-rule.ts), and keeps Node's header/request deadline checks running.
  const plain = redirectServer
  const plainClosed = new Promise<void>((resolve) => plain === undefined ? resolve() : NetServer.prototype.close.call(plain, () => resolve()))
  NetServer.prototype.close.call(current.server, () => { plainClosed.then(finish, finish) })
}

function reloadCertificate (): void {
  if (app === undefined || settings === undefined || tls === undefined) return
  try {
    const next = readTlsMaterial(settings, tls.ticketKeys as Buffer)
    app.server.setSecureContext(secureContextOptions(next))
    tls = next
    const fingerprint256 = new X509Certificate(next.cert).fingerprint256
    logger?.info({ fingerprint256 }, 'certificate reloaded')
    send({ act: 'certificate-reloaded', fingerprint256, error: null })
  } catch (err) {
    logger?.error({ error: (err as Error).message }, 'certificate reload failed; keeping the current one')
    send({ act: 'certificate-reloaded', fingerprint256: null, error: (err as Error).message })
  }
}

/** New ACME certificates: SNI contexts for new handshakes, and the default one when it is ACME's; open connections keep theirs. */
function applyAcmeCertificates (certificates: readonly CertificateEntry[]): void {
  sni.setAcme(certificates)
  const first = certificates[0]
  if (app !== undefined && tls !== undefined && settings?.acmeDefault === true && first !== undefined) {
    tls = { ...tls, cert: Buffer.from(first.cert), key: Buffer.from(first.key) }
    app.server.setSecureContext(secureContextOptions(tls))
  }
  logger?.info({ serials: certificates.map((entry) => entry.serial) }, 'certificates applied')
}

const handlers: DispatchTable<PrimaryMessage, unknown> = {
  start: (message, handle) => {
    start(message.settings, handle).catch((err: unknown) => {
      const error = err as NodeJS.ErrnoException
      send({ act: 'start-failed', code: isSeraphError(err) ? err.code : error.code, message: error.message }, () => {
        flushLogs().then(() => process.exit(1), () => process.exit(1))
      })
    })
  },
  'redirect-handle': (message, handle) => receiveRedirectHandle({ httpsPort: message.httpsPort, handle }),
  shutdown: (message) => shutdown(message.force, message.mode),
  report: (message) => {
    if (metrics === undefined) return
    const connectionsOpen = accounting?.open ?? 0
    metrics.snapshot().then((snapshot) => {
      send({ act: 'report', requestId: message.requestId, report: { metrics: snapshot, connectionsOpen, draining } })
    }, (err: unknown) => logger?.error({ err }, 'metrics snapshot failed'))
  },
  'reload-certificate': () => reloadCertificate(),
  'ticket-keys': (message) => {
    if (app === undefined || tls === undefined) return
    const ticketKeys = Buffer.from(message.keys, 'base64')
    app.server.setTicketKeys(ticketKeys)
    tls = { ...tls, ticketKeys }
  },
  session: (message) => sessionLookups.settle(message.requestId, message.data),
  certificates: (message) => applyAcmeCertificates(message.certificates),
  'acme-challenges': (message) => {
    challenges.update(message.challenges)
    send({ act: 'acme-challenges-applied', version: message.version })
  },
  'session-ids': (message) => {
    knownSessionIds ??= new LRUCache<string, true>({ max: Math.max(1, settings?.sessionCacheSize ?? 20_000) })
    for (const id of message.ids) knownSessionIds.set(id, true)
  }
}

process.on('message', (message: unknown, handle: unknown) => {
  dispatch(handlers, message, handle)
})
send({ act: 'hello' })

// Ctrl-C in a terminal and pm2's tree-kill signal every process, workers
// included: treat it like the primary's shutdown message, never as an abort.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    signalsReceived++
    shutdown(signalsReceived > 1, 'shutdown')
  })
}
// Reload signals are for the primary; one sent to the whole process group
// must not kill a worker (their default action).
for (const signal of ['SIGHUP', 'SIGUSR2'] as const) process.on(signal, () => {})

process.on('uncaughtException', (err) => {
  if (logger === undefined) console.error(err)
  else logger.fatal({ err }, 'uncaught exception; the primary will replace this worker')
  process.exit(1)
})
