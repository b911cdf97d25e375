/**
 * The primary process: binds the port once and keeps it, supervises the
 * workers (worker-pool.ts), replaces them one at a time on reload, owns what
 * they share (ticket keys, the TLS session cache, ACME) and turns signals into
 * orderly shutdowns. It never serves a request; it knows workers over IPC.
 */
import cluster, { type Worker } from 'node:cluster'
import type { Server } from 'node:http'
import { fileURLToPath } from 'node:url'
import { startAdminServer } from './admin-server.js'
import { readCertificateReload, readManualPems, type ManualPems } from './certificates.js'
import { ClusterStatus } from './cluster-status.js'
import type { Config } from '../config/config.js'
import { isSeraphErrorCode, SeraphError } from '../shared/errors.js'
import { adoptListeningSocket, bindListeningSocket, listenError, publicUrl, type BoundSocket } from './listen-handle.js'
import type { Logger } from '../shared/logger.js'
import type { DispatchTable, WorkerMessage } from '../shared/messages.js'
import { RestartPolicy, type RestartPolicyOptions } from './restart-policy.js'
import { rollingReload } from './rolling-reload.js'
import { SerialTask } from './serial-task.js'
import { SharedTlsState } from './cluster-tls-state.js'
import { SessionSharing } from './session-sharing.js'
import { workerSettings } from './settings-for-workers.js'
import type { AcmeLink } from './acme/acme-link.js'
import type { StoreLink } from './store/store-link.js'
import { linkOptional } from './optional-links.js'
import { WorkerPool, type WorkerState } from './worker-pool.js'
import { admitWorkerUser } from './worker-access.js'

const workerScript = fileURLToPath(new URL('../../workers/worker.js', import.meta.url))

/** How long after its own deadline a draining worker gets before SIGKILL. */
const shutdownGraceMs = 5_000

export interface PrimaryOptions {
  readonly config: Config
  readonly logger: Logger
  readonly certPath: string
  readonly keyPath: string
  /** DNS names of every --cert pair: ACME never orders those. */
  readonly manualNames?: readonly string[]
  /** Reads the configuration again, for SIGHUP; throws a SeraphError when it is invalid. */
  readonly rereadConfig?: () => Config
  readonly restartPolicy?: RestartPolicyOptions
  /** Called once with the exit code when the primary has stopped everything. */
  readonly onExit: (code: number, error?: SeraphError) => void
}

export class Primary {
  readonly #options: PrimaryOptions
  readonly #log: Logger
  readonly #policy: RestartPolicy
  readonly #pool: WorkerPool
  readonly #status: ClusterStatus
  readonly #shared: SharedTlsState
  #acme: AcmeLink | undefined
  #store: StoreLink | undefined
  readonly #sessions: SessionSharing
  #config: Config
  // Read here, sent to the workers: they may not be able to read the key files.
  #pems: ManualPems = { defaultPair: undefined, extraPairs: [] }
  #generation = 1
  #socket: BoundSocket | undefined
  #redirectSocket: BoundSocket | undefined
  #admin: Server | undefined
  #ready = false
  #stopping = false
  readonly #reload = new SerialTask(() => this.#rollingReload())
  #exitCode = 0
  #fatalError: SeraphError | undefined
  #onReady: (() => void) | undefined

  constructor (options: PrimaryOptions) {
    this.#options = options
    this.#config = options.config
    this.#log = options.logger
    this.#policy = new RestartPolicy(options.restartPolicy)
    this.#shared = new SharedTlsState(options.config.tls)
    this.#pool = new WorkerPool(workerScript, this.#log, (state) => this.#handlers(state), options.config.workerUser)
    this.#sessions = new SessionSharing(this.#shared, () => this.#store, this.#pool)
    this.#status = new ClusterStatus({
      pool: this.#pool,
      wanted: () => this.#config.workers,
      stopping: () => this.#stopping,
      sessions: () => this.#shared.cachedSessions,
      extras: () => [this.#acme?.status, this.#store?.status]
    })
  }

  /** Binds the port, starts the workers and resolves once every one of them listens. */
  async start (): Promise<{ port: number, url: string, adminUrl?: string, redirectPort?: number }> {
    const config = this.#config
    // First: a refusal leaves nothing bound or started behind.
    if (config.workerUser !== undefined) admitWorkerUser(this.#log, config.workerUser, workerScript, config.root)
    this.#pems = readManualPems(this.#options.certPath, this.#options.keyPath, config.certPairs)
    const links = await linkOptional(config, this.#log, this.#shared, this.#pool, this.#options.manualNames ?? [])
    this.#store = links.store
    this.#acme = links.acme
    const activated = config.socketActivation
    if (activated === undefined) {
      this.#socket = await bindListeningSocket(config.host, config.port)
      if (config.redirectPort !== undefined) this.#redirectSocket = await bindListeningSocket(config.host, config.redirectPort, '--redirect-port')
    } else {
      // systemd holds the ports; --port and --redirect-port bind nothing.
      const count = activated.http === undefined ? '1' : '2'
      this.#socket = adoptListeningSocket(activated.https, count)
      if (activated.http !== undefined) this.#redirectSocket = adoptListeningSocket(activated.http, count)
      this.#log.info({ https: this.#socket.port, http: this.#redirectSocket?.port }, 'socket activation: serving on the sockets systemd passed')
    }
    let adminUrl: string | undefined
    if (config.adminPort !== undefined) {
      const admin = await startAdminServer(config.adminPort, this.#status)
      this.#admin = admin.server
      adminUrl = `http://127.0.0.1:${admin.port}/`
    }
    // Bounded: a store that is away delays the start by a moment, never stops it.
    await this.#store?.start()
    // Stored or temporary certificates: the workers start with them; the CA is asked only after.
    await this.#acme?.service.prepare()
    cluster.on('exit', (worker, code, signal) => this.#onWorkerExit(worker, code, signal))
    const ready = new Promise<void>((resolve) => { this.#onReady = resolve })
    for (let i = 0; i < config.workers; i++) this.#pool.fork(this.#generation, false)
    this.#shared.startRotation((keys) => {
      this.#broadcastTicketKeys(keys)
      this.#log.info('session-ticket keys rotated')
    })
    await ready
    // Orders start once every worker listens: the CA's first validation finds one that knows the challenge.
    this.#acme?.service.start()
    const port = this.#socket.port
    return {
      port,
      url: publicUrl(config.host, port),
      ...(adminUrl === undefined ? {} : { adminUrl }),
      ...(this.#redirectSocket === undefined ? {} : { redirectPort: this.#redirectSocket.port })
    }
  }

  /** Drains every worker; `force` closes their connections at once. */
  stop (force: boolean, exitCode = 0): void {
    if (this.#stopping && !force) return
    if (!this.#stopping) this.#exitCode = exitCode
    this.#stopping = true
    this.#pool.cancelScheduledForks()
    this.#shared.stopRotation()
    this.#acme?.service.stop()
    this.#store?.stop()
    this.#log.info({ force, workers: this.#pool.size }, force ? 'forcing shutdown' : 'shutting down')
    for (const state of this.#pool.all()) this.#pool.drain(state, 'shutdown', force)
    if (!force) {
      // Backstop for a worker that ignores its own deadline.
      setTimeout(() => {
        this.#pool.killAll()
        this.#exitCode = 1
      }, this.#config.shutdownTimeoutMs + shutdownGraceMs).unref()
    }
    this.#finishIfDone()
  }

  /**
   * Rolling reload (SIGHUP): re-reads the configuration, the certificate and
   * the ticket-key file, then replaces the workers one at a time; each old
   * worker is told to drain only once its replacement listens. Anything
   * invalid is refused and the running workers keep serving.
   */
  reload (): Promise<void> {
    if (this.#stopping) return Promise.resolve()
    if (!this.#ready) {
      this.#log.warn('reload ignored: seraph is still starting')
      return Promise.resolve()
    }
    if (this.#reload.running) this.#log.info('reload requested while one runs: it will run again when this one ends')
    return this.#reload.run()
  }

  #rollingReload (): Promise<void> {
    let pems = this.#pems
    return rollingReload({
      log: this.#log,
      reread: () => {
        const next = this.#options.rereadConfig?.() ?? this.#config
        if (next.host !== this.#config.host) throw new SeraphError('SERAPH_ERR_RELOAD_ADDRESS_CHANGED', '--host', next.host ?? 'all interfaces', this.#config.host ?? 'all interfaces')
        if (next.port !== this.#config.port && next.socketActivation === undefined) throw new SeraphError('SERAPH_ERR_RELOAD_ADDRESS_CHANGED', '--port', next.port, this.#config.port)
        pems = readManualPems(this.#options.certPath, this.#options.keyPath, next.certPairs)
        const keys = this.#shared.rereadKeyFile()
        if (keys !== undefined) this.#broadcastTicketKeys(keys)
        return next
      },
      apply: (next) => {
        this.#config = next
        this.#pems = pems
        return ++this.#generation
      },
      workers: () => this.#pool.all(),
      fork: (previous) => this.#pool.fork(this.#generation, true, previous),
      listening: (state) => this.#pool.listening(state),
      drain: (state) => { if (this.#pool.has(state)) this.#pool.drain(state, 'reload', false) },
      stopping: () => this.#stopping,
      result: (result) => this.#status.reloaded(result)
    })
  }

  /** SIGUSR2: re-reads the certificates; every worker applies them to new handshakes; no connection is touched. */
  reloadCertificate (): void {
    const pems = readCertificateReload(this.#log, this.#options.certPath, this.#options.keyPath, this.#config.certPairs)
    if (pems === undefined) return
    this.#pems = pems
    for (const state of this.#pool.serving()) this.#pool.send(state, { act: 'reload-certificate', ...pems })
  }

  /** How the primary answers one worker's messages (the pool routes them). */
  #handlers (state: WorkerState): DispatchTable<WorkerMessage> {
    const { worker } = state
    return {
      hello: () => this.#sendStart(state),
      listening: () => this.#onWorkerListening(state),
      'start-failed': (message) => this.#onStartFailed(state, message),
      report: (message) => this.#status.reports.received(message.requestId, message.report),
      'certificate-reloaded': (message) => {
        if (message.error === null) this.#log.info({ worker: worker.id, fingerprint256: message.fingerprint256 }, 'worker applied the new certificate')
        else this.#log.error({ worker: worker.id, error: message.error }, 'worker kept its certificate')
      },
      'session-store': (message) => { this.#sessions.stored(state, message.requestId, message.id, message.data).catch(() => {}) },
      'acme-challenges-applied': (message) => this.#acme?.applied(worker.id, message.version),
      'session-get': (message) => { this.#sessions.answer(state, message.requestId, message.id).catch(() => {}) }
    }
  }

  // Sent on the worker's 'hello', not on cluster's 'online': 'online' comes
  // before an ES module worker has installed its message handler, and a
  // message that arrives earlier is dropped.
  #sendStart (state: WorkerState): void {
    const { worker } = state
    const config = this.#config
    const settings = workerSettings(config, this.#shared, {
      workerId: worker.id,
      certPath: this.#options.certPath,
      keyPath: this.#options.keyPath,
      pems: this.#pems,
      redirect: this.#redirectSocket !== undefined,
      acme: this.#acme?.service
    })
    this.#pool.started(state)
    // The bound socket travels with the message; each worker listens on it.
    this.#pool.send(state, { act: 'start', settings }, this.#socket?.handle)
    this.#sessions.sendKnownIds(state)
    if (this.#redirectSocket !== undefined) {
      this.#pool.send(state, { act: 'redirect-handle', httpsPort: this.#socket?.port ?? config.port }, this.#redirectSocket.handle)
    }
  }

  #onWorkerListening (state: WorkerState): void {
    this.#policy.workerListening()
    this.#pool.markListening(state)
    if (this.#ready || this.#stopping) return
    const listening = this.#pool.all().filter((s) => s.listening).length
    if (listening < this.#config.workers) return
    this.#ready = true
    this.#onReady?.()
  }

  #onStartFailed (state: WorkerState, failure: { code: string | undefined, message: string, listen: boolean }): void {
    const { code, message } = failure
    this.#log.error({ worker: state.worker.id, code, error: message }, 'worker could not start')
    // Before the first ready, a listen error or a bad setting fails the same
    // way in every worker: report it as the operator's problem at once.
    if (this.#ready) return
    if (isSeraphErrorCode(code)) return this.#fail(new SeraphError('SERAPH_ERR_WORKER_START', state.worker.id, message))
    if (failure.listen && code !== undefined) return this.#fail(listenError(code, this.#config.host, this.#socket?.port ?? this.#config.port))
  }

  #onWorkerExit (worker: Worker, code: number | null, signal: string | null): void {
    const state = this.#pool.remove(worker)
    if (state === undefined) return
    this.#acme?.gone(worker.id)
    const fields = { worker: worker.id, workerPid: worker.process.pid, code, signal }
    if (this.#stopping || state.draining) {
      this.#log.info(fields, 'worker exited')
      return this.#finishIfDone()
    }
    const livedMs = Date.now() - state.startedAt
    this.#log.warn({ ...fields, livedMs }, 'worker died unexpectedly')
    // A reload's replacement that fails is the reload's failure, not a worker to restart.
    if (state.replacement && !state.listening) return
    this.#status.workerRestarted()
    const decision = this.#policy.workerDied(livedMs, state.listening)
    if (decision.action === 'give-up') {
      const last = signal === null ? `exited with code ${String(code)}` : `was killed by ${signal}`
      return this.#fail(new SeraphError('SERAPH_ERR_CRASH_LOOP', decision.startFailures, last))
    }
    if (decision.delayMs > 0) this.#log.warn({ delayMs: decision.delayMs }, 'workers keep dying; backing off before the next restart')
    this.#pool.forkLater(decision.delayMs, () => this.#generation, state)
  }

  #broadcastTicketKeys (keys: string): void {
    this.#pool.broadcast({ act: 'ticket-keys', keys })
  }

  #fail (error: SeraphError): void {
    if (this.#fatalError !== undefined) return
    this.#fatalError = error
    this.#log.error({ code: error.code }, error.message)
    this.stop(true, 1)
  }

  #finishIfDone (): void {
    if (!this.#stopping || this.#pool.size > 0) return
    this.#socket?.handle.close()
    this.#socket = undefined
    this.#redirectSocket?.handle.close()
    this.#admin?.close()
    this.#admin?.closeAllConnections()
    this.#options.onExit(this.#exitCode, this.#fatalError)
  }
}
