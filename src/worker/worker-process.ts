import { X509Certificate } from 'node:crypto'
import type { Server as HttpServer } from 'node:http'
import type { ServerHttp2Session } from 'node:http2'
import { Server as NetServer } from 'node:net'
import { buildApp, type App } from './app.js'
import { ConnectionAccounting } from './connection-accounting.js'
import { goAwayAfterFirstStreams } from './http2-late-session.js'
import { WorkerMetrics } from './metrics.js'
import { createRedirectServer } from './redirect-server.js'
import { AcmeChallengeResponder } from './tls/acme-challenge-responder.js'
import { ProxyProtocolReader } from './proxy-protocol/reader.js'
import { SessionClient } from './tls/session-client.js'
import { SniContexts } from './tls/sni-contexts.js'
import { tlsPolicyOptions, type TlsPolicy } from '../shared/tls-policy.js'
import { secureContextOptions, type TlsMaterial } from './tls/tls-options.js'
import { isSeraphError } from '../shared/errors.js'
import { createLogOutput, type Logger } from '../shared/logger.js'
import type { AcmeChallenge, CertificateEntry, DrainMode, WorkerMessage, WorkerSettings } from '../shared/messages.js'
import { isListenFailure, listenOn } from './listen-on-handle.js'

interface RedirectHandle { readonly httpsPort: number, readonly handle: unknown }

/** What exists once 'start' has built the app; absent before. */
interface Serving {
  readonly settings: WorkerSettings
  readonly logger: Logger
  readonly metrics: WorkerMetrics
  readonly accounting: ConnectionAccounting
}

/**
 * One worker process: builds its own TLS context from the PEM the primary sent,
 * listens on the socket the primary bound and shares, serves the blog, and
 * drains on request. Each method answers one message from the primary
 * (workers/worker.ts routes them); replies go through `send`.
 */
export class WorkerProcess {
  readonly #send: (message: WorkerMessage, callback?: () => void) => void
  readonly sessions: SessionClient
  // Both exist before 'start': certificate and challenge updates apply whenever they come.
  // The ACME contexts made in 'start' come before `#tls`: they still get the policy.
  readonly #sni = new SniContexts(() => this.#tls === undefined ? tlsPolicyOptions(this.#policy) : secureContextOptions(this.#tls))
  readonly #challenges = new AcmeChallengeResponder(() => this.#policy)
  readonly #http2Sessions = new Set<ServerHttp2Session>()
  readonly #redirectHandle: Promise<RedirectHandle>
  #receiveRedirectHandle: (handle: RedirectHandle) => void = () => {}
  #serving: Serving | undefined
  #policy: TlsPolicy | undefined
  // Set as soon as 'start' has made them, before anything that can fail: a
  // failed start is still logged and flushed.
  #logger: Logger | undefined
  #flushLogs = (): Promise<void> => Promise.resolve()
  #app: App | undefined
  #tls: TlsMaterial | undefined
  #redirectServer: HttpServer | undefined
  #draining = false
  #signalsReceived = 0

  constructor (send: (message: WorkerMessage, callback?: () => void) => void) {
    this.#send = send
    this.sessions = new SessionClient(send)
    this.#redirectHandle = new Promise((resolve) => { this.#receiveRedirectHandle = resolve })
  }

  /** 'start': serve on `handle`; a failure is told to the primary, then the worker exits 1. */
  start (settings: WorkerSettings, handle: unknown): void {
    this.#start(settings, handle).catch((err: unknown) => {
      const error = err as NodeJS.ErrnoException
      this.#send({ act: 'start-failed', code: isSeraphError(err) ? err.code : error.code, message: error.message, listen: isListenFailure(error) }, () => {
        this.#flushLogs().then(() => process.exit(1), () => process.exit(1))
      })
    })
  }

  /** 'redirect-handle': the --redirect-port socket, which 'start' waits for. */
  receiveRedirectHandle (httpsPort: number, handle: unknown): void {
    this.#receiveRedirectHandle({ httpsPort, handle })
  }

  async #start (settings: WorkerSettings, handle: unknown): Promise<void> {
    this.#policy = settings.tlsPolicy
    this.sessions.start(settings.sessionCacheSize)
    this.#sni.setAcme(settings.certificates)
    this.#challenges.update(settings.challenges)
    const output = createLogOutput({ role: 'worker', level: settings.logLevel, workerId: settings.workerId, buffered: true })
    const logger = output.logger
    this.#logger = logger
    this.#flushLogs = output.flush
    // Each worker reads the files and builds its TLS context itself: no TLS
    // state crosses a process boundary, only the shared ticket keys.
    const tls = this.#readTlsMaterial(settings, settings, Buffer.from(settings.ticketKeys, 'base64'))
    this.#tls = tls
    const metrics = new WorkerMetrics(settings.workerId, output.droppedLines)
    const accounting = new ConnectionAccounting(metrics)
    this.#serving = { settings, logger, metrics, accounting }
    const app = await buildApp({
      root: settings.root,
      logger,
      tls,
      workerId: settings.workerId,
      isDraining: () => this.#draining,
      limits: settings.limits,
      accounting,
      http2: settings.http2,
      securityHeaders: settings.securityHeaders,
      fileCacheBytes: settings.fileCacheBytes,
      followSymlinks: settings.followSymlinks,
      privatePaths: settings.privatePaths,
      ...(settings.extraPairs.length > 0 || settings.certificates.length > 0 ? { sniCallback: this.#sni.callback } : {}),
      onResponse: (status) => metrics.response(status)
    })
    this.#app = app
    await app.ready()
    const server = app.server
    this.#challenges.attach(server)
    // In front of the ACME peek: a proxy's header comes before the ClientHello.
    this.#proxyReader(settings, logger, 'https', accounting)?.attach(server)
    // --max-connections: Node closes the surplus at once and tells us here.
    server.on('drop', () => metrics.rejected())
    if (settings.sessionCache) this.sessions.attach(server)
    server.on('session', (session: ServerHttp2Session) => {
      this.#http2Sessions.add(session)
      // A session swallows its socket's errors (a reset, bad frames, a
      // flood nghttp2 stopped); the accounting (attached to the server)
      // records them as the connection's close cause. The session then ends.
      session.on('error', (err: NodeJS.ErrnoException) => logger.debug({ code: err.code, message: err.message }, 'http2 session error'))
      session.once('close', () => this.#http2Sessions.delete(session))
      if (this.#draining) goAwayAfterFirstStreams(session)
    })
    await listenOn(server as unknown as HttpServer, handle)
    if (settings.redirect) {
      const { httpsPort, handle: plainHandle } = await this.#redirectHandle
      const plain = createRedirectServer(httpsPort, settings.limits, logger, {
        isDraining: () => this.#draining,
        answerFirst: (request, response) => this.#challenges.answerHttp(request, response),
        accounting
      })
      this.#proxyReader(settings, logger, 'redirect', accounting)?.attach(plain)
      await listenOn(plain, plainHandle)
      this.#redirectServer = plain
    }
    const address = server.address()
    const port = typeof address === 'object' && address !== null ? address.port : 0
    logger.debug({ port }, 'listening')
    this.#send({ act: 'listening', port })
  }

  // --proxy-protocol, for one listener.
  #proxyReader (settings: WorkerSettings, logger: Logger, listener: 'https' | 'redirect', accounting: ConnectionAccounting): ProxyProtocolReader | undefined {
    if (settings.proxyProtocol === undefined) return undefined
    return new ProxyProtocolReader({
      trusted: settings.proxyProtocol.trusted,
      timeoutMs: settings.limits.handshakeTimeoutMs,
      logger,
      listener,
      accounting
    })
  }

  // The primary read the files and sent their PEM: this worker may run as a
  // user that cannot read the key. It builds its contexts from them itself.
  #readTlsMaterial (from: WorkerSettings, pems: Pick<WorkerSettings, 'defaultPair' | 'extraPairs'>, ticketKeys: Buffer): TlsMaterial {
    // --domain without --cert: the first ACME certificate is the default one.
    const first = from.acmeDefault ? this.#sni.acmeEntries[0] : pems.defaultPair
    if (first === undefined) throw new Error('no certificate to serve yet')
    this.#sni.setManual(pems.extraPairs)
    return {
      cert: Buffer.from(first.cert),
      key: Buffer.from(first.key),
      ticketKeys,
      sessionTimeoutMs: from.sessionTimeoutMs,
      policy: from.tlsPolicy
    }
  }

  /**
   * 'shutdown': stops accepting, lets in-flight requests finish, then exits;
   * `force` closes every connection now. On reload, idle keep-alive
   * connections are not cut: each gets `Connection: close` on its next
   * response, or ends at its keep-alive timeout, so no request can race the close.
   */
  shutdown (force: boolean, mode: DrainMode): void {
    const app = this.#app
    const serving = this.#serving
    if (app === undefined || serving === undefined) process.exit(0)
    const { settings, logger, accounting } = serving
    if (force) {
      logger.warn({ connections: accounting.open }, 'forced shutdown: closing all connections')
      accounting.destroyAll()
      return
    }
    if (this.#draining) return
    this.#draining = true
    accounting.startShutdown()
    logger.info({ connections: accounting.open, mode }, 'draining')
    const deadline = mode === 'reload'
      ? Math.max(settings.shutdownTimeoutMs, settings.limits.keepAliveTimeoutMs + 1000)
      : settings.shutdownTimeoutMs
    const timer = setTimeout(() => this.shutdown(true, mode), deadline)
    const finish = (): void => {
      app.close().then(() => {
        clearTimeout(timer)
        logger.info('drained')
        return this.#flushLogs().then(() => process.exit(0))
      }, (err: unknown) => {
        logger.error({ err }, 'close failed')
        return this.#flushLogs().then(() => process.exit(1))
      })
    }
    // HTTP/2: GOAWAY lets open streams finish and tells the client to send
    // new ones on a new connection (to a worker that is not draining).
    for (const session of this.#http2Sessions) session.close()
    const plain = this.#redirectServer
    if (mode === 'shutdown') {
      // http.Server#close() also closes idle keep-alive connections.
      plain?.close()
      finish()
      return
    }
    // net.Server#close() stops accepting but leaves open connections alone
    // (drain-rule.ts), and keeps Node's header/request deadline checks running.
    const plainClosed = new Promise<void>((resolve) => plain === undefined ? resolve() : NetServer.prototype.close.call(plain, () => resolve()))
    NetServer.prototype.close.call(app.server, () => { plainClosed.then(finish, finish) })
  }

  /** SIGINT or SIGTERM: a drain like the primary's 'shutdown'; a second one forces it. */
  stopOnSignal (): void {
    this.#signalsReceived++
    this.shutdown(this.#signalsReceived > 1, 'shutdown')
  }

  /** 'report': this worker's state, and its counters if `metrics`, for the admin listener. */
  report (requestId: number, metrics: boolean): void {
    const serving = this.#serving
    if (serving === undefined) return
    const connectionsOpen = serving.accounting.open
    if (!metrics) {
      this.#send({ act: 'report', requestId, report: { connectionsOpen, draining: this.#draining } })
      return
    }
    serving.metrics.snapshot().then((snapshot) => {
      this.#send({ act: 'report', requestId, report: { metrics: snapshot, connectionsOpen, draining: this.#draining } })
    }, (err: unknown) => serving.logger.error({ err }, 'metrics snapshot failed'))
  }

  /** 'reload-certificate': the pairs the primary re-read, for new handshakes; on failure the current certificate stays. */
  reloadCertificate (pems: Pick<WorkerSettings, 'defaultPair' | 'extraPairs'>): void {
    const app = this.#app
    const settings = this.#serving?.settings
    if (app === undefined || settings === undefined || this.#tls === undefined) return
    try {
      const next = this.#readTlsMaterial(settings, pems, this.#tls.ticketKeys as Buffer)
      app.server.setSecureContext(secureContextOptions(next))
      this.#tls = next
      const fingerprint256 = new X509Certificate(next.cert).fingerprint256
      this.#logger?.info({ fingerprint256 }, 'certificate reloaded')
      this.#send({ act: 'certificate-reloaded', fingerprint256, error: null })
    } catch (err) {
      this.#logger?.error({ error: (err as Error).message }, 'certificate reload failed; keeping the current one')
      this.#send({ act: 'certificate-reloaded', fingerprint256: null, error: (err as Error).message })
    }
  }

  /** 'ticket-keys': the primary's new session-ticket keys (base64). */
  setTicketKeys (keys: string): void {
    if (this.#app === undefined || this.#tls === undefined) return
    const ticketKeys = Buffer.from(keys, 'base64')
    this.#app.server.setTicketKeys(ticketKeys)
    this.#tls = { ...this.#tls, ticketKeys }
  }

  /** 'certificates': SNI contexts for new handshakes, and the default one when it is ACME's; open connections keep theirs. */
  applyAcmeCertificates (certificates: readonly CertificateEntry[]): void {
    this.#sni.setAcme(certificates)
    const first = certificates[0]
    if (this.#app !== undefined && this.#tls !== undefined && this.#serving?.settings.acmeDefault === true && first !== undefined) {
      this.#tls = { ...this.#tls, cert: Buffer.from(first.cert), key: Buffer.from(first.key) }
      this.#app.server.setSecureContext(secureContextOptions(this.#tls))
    }
    this.#logger?.info({ serials: certificates.map((entry) => entry.serial) }, 'certificates applied')
  }

  /** 'acme-challenges': answers these from now on, and says so (the primary waits for every worker). */
  applyChallenges (version: number, challenges: readonly AcmeChallenge[]): void {
    this.#challenges.update(challenges)
    this.#send({ act: 'acme-challenges-applied', version })
  }

  /** The last word of an uncaught exception, in the log if there is one yet. */
  logFatal (err: unknown): void {
    if (this.#logger === undefined) console.error(err)
    else this.#logger.fatal({ err }, 'uncaught exception; the primary will replace this worker')
  }
}
