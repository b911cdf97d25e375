/**
 * The primary process: binds the port once and keeps it, forks and supervises
 * the workers, replaces them one at a time on reload, owns what they share
 * (session-ticket keys, the TLS session cache), and turns signals into
 * orderly shutdowns. It never serves a request; everything it knows about a
 * worker comes over IPC (messages.ts).
 */
import cluster, { type Worker } from 'node:cluster'
import type { Server } from 'node:http'
import { fileURLToPath } from 'node:url'
import { startAdminServer } from './admin-server.js'
import { loadCertificatePair } from './certificates.js'
import { ClusterStatus, type WorkerState } from './cluster-status.js'
import type { Config } from '../config/config.js'
import { isSeraphError, isSeraphErrorCode, SeraphError } from '../shared/errors.js'
import { bindListeningSocket, listenError, publicUrl, type BoundSocket } from './listen-handle.js'
import type { Logger } from '../shared/logger.js'
import { dispatch, type DispatchTable, type DrainMode, type PrimaryMessage, type WorkerMessage } from '../shared/messages.js'
import { RestartPolicy, type RestartPolicyOptions } from './restart-policy.js'
import { rollingReload } from './rolling-reload.js'
import { devCertDir } from '../shared/package-info.js'
import { SerialTask } from './serial-task.js'
import { SharedTlsState } from './cluster-tls-state.js'
import { workerSettings } from './settings-for-workers.js'
import { AcmeService } from './acme/acme-service.js'
import { ChallengeAcks } from './acme/challenge-acks.js'
import { coversName } from '../shared/certificate-names.js'

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
  readonly #workers = new Map<number, WorkerState>()
  readonly #restartTimers = new Set<NodeJS.Timeout>()
  readonly #listeners = new Map<number, (listening: boolean) => void>()
  readonly #status: ClusterStatus
  readonly #shared: SharedTlsState
  readonly #acme: AcmeService | undefined
  readonly #acks = new ChallengeAcks()
  readonly #started = new Set<number>()
  #config: Config
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
    const acme = options.config.acme
    this.#acme = acme === undefined
      ? undefined
      : new AcmeService({
        config: acme,
        log: this.#log,
        manualNames: (name) => coversName(options.manualNames ?? [], name),
        publishCertificates: (certificates) => this.#sendToStarted({ act: 'certificates', certificates }),
        publishChallenges: (version, challenges) => this.#acks.publish(version, challenges, [...this.#workers.values()]
          .filter((s) => this.#started.has(s.worker.id) && s.worker.isConnected())
          .map((s) => ({ id: s.worker.id, send: (message) => s.worker.send(message) })))
      })
    this.#status = new ClusterStatus(() => [...this.#workers.values()], () => this.#config.workers, () => this.#stopping,
      () => this.#shared.cachedSessions,
      this.#acme === undefined ? undefined : { registry: this.#acme.metrics.registry, health: () => ({ certificates: this.#acme?.health() }) })
  }

  /** Binds the port, starts the workers and resolves once every one of them listens. */
  async start (): Promise<{ port: number, url: string, adminUrl?: string, redirectPort?: number }> {
    const config = this.#config
    this.#socket = await bindListeningSocket(config.host, config.port)
    if (config.redirectPort !== undefined) this.#redirectSocket = await bindListeningSocket(config.host, config.redirectPort, '--redirect-port')
    let adminUrl: string | undefined
    if (config.adminPort !== undefined) {
      const admin = await startAdminServer(config.adminPort, this.#status)
      this.#admin = admin.server
      adminUrl = `http://127.0.0.1:${admin.port}/`
    }
    // Stored or temporary certificates: the workers start with them; the CA is asked only after.
    await this.#acme?.prepare()
    cluster.setupPrimary({ exec: workerScript, args: [], silent: false })
    cluster.on('exit', (worker, code, signal) => this.#onWorkerExit(worker, code, signal))
    const ready = new Promise<void>((resolve) => { this.#onReady = resolve })
    for (let i = 0; i < config.workers; i++) this.#fork(false)
    this.#acme?.start()
    this.#shared.startRotation((keys) => {
      this.#broadcastTicketKeys(keys)
      this.#log.info('session-ticket keys rotated')
    })
    await ready
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
    for (const timer of this.#restartTimers) clearTimeout(timer)
    this.#restartTimers.clear()
    this.#shared.stopRotation()
    this.#acme?.stop()
    this.#log.info({ force, workers: this.#workers.size }, force ? 'forcing shutdown' : 'shutting down')
    for (const state of this.#workers.values()) this.#drain(state, 'shutdown', force)
    if (!force) {
      // Backstop for a worker that ignores its own deadline.
      setTimeout(() => this.#killAll(), this.#config.shutdownTimeoutMs + shutdownGraceMs).unref()
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
    return rollingReload({
      log: this.#log,
      reread: () => {
        const next = this.#options.rereadConfig?.() ?? this.#config
        if (next.host !== this.#config.host || next.port !== this.#config.port) {
          throw new Error('--host and --port cannot change on reload; restart seraph instead')
        }
        for (const pair of next.certPairs) loadCertificatePair(pair.cert, pair.key)
        const keys = this.#shared.rereadKeyFile()
        if (keys !== undefined) this.#broadcastTicketKeys(keys)
        return next
      },
      apply: (next) => {
        this.#config = next
        return ++this.#generation
      },
      workers: () => [...this.#workers.values()],
      fork: (previous) => this.#fork(true, previous),
      listening: (state) => this.#listening(state),
      drain: (state) => { if (this.#workers.has(state.worker.id)) this.#drain(state, 'reload', false) },
      stopping: () => this.#stopping,
      result: (result) => this.#status.reloaded(result)
    })
  }

  /** SIGUSR2: every worker re-reads the certificate and applies it to new handshakes; no connection is touched. */
  reloadCertificate (): void {
    try {
      // ACME certificates need no signal: they reach the workers when renewed.
      if (this.#options.certPath === '') return this.#log.info('certificate reload: no --cert to re-read')
      const pair = loadCertificatePair(this.#options.certPath, this.#options.keyPath)
      for (const extra of this.#config.certPairs.slice(1)) loadCertificatePair(extra.cert, extra.key)
      this.#log.info({ fingerprint256: pair.fingerprint256, notAfter: pair.notAfter.toISOString() }, 'certificate reload')
    } catch (err) {
      this.#log.error({ code: isSeraphError(err) ? err.code : undefined }, `certificate reload refused, the current one stays: ${(err as Error).message}`)
      return
    }
    for (const state of this.#workers.values()) {
      if (state.listening && !state.draining) state.worker.send({ act: 'reload-certificate' })
    }
  }

  /** `replaces`: the worker this one takes over from (dead, or to be drained by a reload). */
  #fork (replacement: boolean, replaces?: WorkerState): WorkerState {
    const worker = cluster.fork()
    const state: WorkerState = { worker, startedAt: Date.now(), generation: this.#generation, replacement, listening: false, draining: false }
    this.#workers.set(worker.id, state)
    this.#log.info({
      worker: worker.id,
      workerPid: worker.process.pid,
      generation: state.generation,
      ...(replaces === undefined ? {} : { replaces: replaces.worker.id, replacesPid: replaces.worker.process.pid })
    }, 'worker forked')
    const handlers: DispatchTable<WorkerMessage> = {
      hello: () => this.#sendStart(worker),
      listening: () => this.#onWorkerListening(state),
      'start-failed': (message) => this.#onStartFailed(state, message.code, message.message),
      report: (message) => this.#status.reports.received(message.requestId, message.report),
      'certificate-reloaded': (message) => {
        if (message.error === null) this.#log.info({ worker: worker.id, fingerprint256: message.fingerprint256 }, 'worker applied the new certificate')
        else this.#log.error({ worker: worker.id, error: message.error }, 'worker kept its certificate')
      },
      'session-store': (message) => {
        this.#shared.storeSession(message.id, message.data)
        // Workers look up only IDs they know exist: see worker.ts.
        for (const { worker: other } of this.#workers.values()) {
          if (other.isConnected()) other.send({ act: 'session-ids', ids: [message.id] })
        }
      },
      'acme-challenges-applied': (message) => this.#acks.applied(worker.id, message.version),
      'session-get': (message) => {
        if (worker.isConnected()) worker.send({ act: 'session', requestId: message.requestId, data: this.#shared.fetchSession(message.id) })
      }
    }
    worker.on('message', (message: unknown) => { dispatch(handlers, message, undefined) })
    return state
  }

  // Sent on the worker's 'hello', not on cluster's 'online': 'online' comes
  // before an ES module worker has installed its message handler, and a
  // message that arrives earlier is dropped.
  #sendStart (worker: Worker): void {
    const config = this.#config
    const settings = workerSettings(config, this.#shared, {
      workerId: worker.id,
      certPath: this.#options.certPath,
      keyPath: this.#options.keyPath,
      redirect: this.#redirectSocket !== undefined,
      extraPairs: config.certPairs.slice(1).map((pair) => ({ certPath: pair.cert, keyPath: pair.key })),
      acmeDefault: config.cert === undefined && this.#acme !== undefined,
      certificates: this.#acme?.certificates ?? [],
      challenges: this.#acme?.challenges ?? [],
      // The development CA's key lives beside its certificate: never servable either.
      privatePaths: [
        this.#options.certPath, this.#options.keyPath, devCertDir,
        ...config.certPairs.flatMap((pair) => [pair.cert, pair.key]),
        ...(config.tls.ticketKeyFile === undefined ? [] : [config.tls.ticketKeyFile]),
        ...(config.acme === undefined ? [] : [config.acme.stateDir])
      ]
    })
    this.#started.add(worker.id)
    // The bound socket travels with the message; each worker listens on it.
    worker.send({ act: 'start', settings }, this.#socket?.handle as never)
    const ids = this.#shared.sessionIds()
    if (ids.length > 0) worker.send({ act: 'session-ids', ids })
    if (this.#redirectSocket !== undefined) {
      worker.send({ act: 'redirect-handle', httpsPort: this.#socket?.port ?? config.port }, this.#redirectSocket.handle as never)
    }
  }

  /** Resolves true once the worker listens, false if it exits first. */
  #listening (state: WorkerState): Promise<boolean> {
    if (state.listening) return Promise.resolve(true)
    return new Promise((resolve) => this.#listeners.set(state.worker.id, resolve))
  }

  #drain (state: WorkerState, mode: DrainMode, force: boolean): void {
    if (!state.draining) this.#log.info({ worker: state.worker.id, workerPid: state.worker.process.pid, mode }, 'worker draining')
    state.draining = true
    if (state.worker.isConnected()) state.worker.send({ act: 'shutdown', force, mode })
  }

  #onWorkerListening (state: WorkerState): void {
    state.listening = true
    this.#policy.workerListening()
    this.#log.info({ worker: state.worker.id, workerPid: state.worker.process.pid, generation: state.generation }, 'worker listening')
    this.#listeners.get(state.worker.id)?.(true)
    this.#listeners.delete(state.worker.id)
    if (this.#ready || this.#stopping) return
    const listening = [...this.#workers.values()].filter((s) => s.listening).length
    if (listening < this.#config.workers) return
    this.#ready = true
    this.#onReady?.()
  }

  #onStartFailed (state: WorkerState, code: string | undefined, message: string): void {
    this.#log.error({ worker: state.worker.id, code, error: message }, 'worker could not start')
    // Before the first ready, a listen error or a bad setting fails the same
    // way in every worker: report it as the operator's problem at once.
    if (this.#ready) return
    if (isSeraphErrorCode(code)) return this.#fail(new SeraphError('SERAPH_ERR_WORKER_START', state.worker.id, message))
    if (code !== undefined && /^E[A-Z]+$/.test(code) && /listen/i.test(message)) {
      return this.#fail(listenError(code, this.#config.host, this.#socket?.port ?? this.#config.port))
    }
  }

  #onWorkerExit (worker: Worker, code: number | null, signal: string | null): void {
    const state = this.#workers.get(worker.id)
    if (state === undefined) return
    this.#workers.delete(worker.id)
    this.#started.delete(worker.id)
    this.#acks.gone(worker.id)
    this.#listeners.get(worker.id)?.(false)
    this.#listeners.delete(worker.id)
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
    if (decision.delayMs === 0) {
      this.#fork(false, state)
      return
    }
    this.#log.warn({ delayMs: decision.delayMs }, 'workers keep dying; backing off before the next restart')
    const timer = setTimeout(() => {
      this.#restartTimers.delete(timer)
      this.#fork(false, state)
    }, decision.delayMs)
    this.#restartTimers.add(timer)
  }

  #sendToStarted (message: PrimaryMessage): void {
    for (const { worker } of this.#workers.values()) {
      if (this.#started.has(worker.id) && worker.isConnected()) worker.send(message)
    }
  }

  #broadcastTicketKeys (keys: string): void {
    for (const { worker } of this.#workers.values()) {
      if (worker.isConnected()) worker.send({ act: 'ticket-keys', keys })
    }
  }

  #fail (error: SeraphError): void {
    if (this.#fatalError !== undefined) return
    this.#fatalError = error
    this.#log.error({ code: error.code }, error.message)
    this.stop(true, 1)
  }

  #killAll (): void {
    for (const { worker } of this.#workers.values()) {
      this.#log.error({ worker: worker.id, workerPid: worker.process.pid }, 'worker missed its shutdown deadline; killing it')
      worker.process.kill('SIGKILL')
    }
    this.#exitCode = 1
  }

  #finishIfDone (): void {
    if (!this.#stopping || this.#workers.size > 0) return
    this.#socket?.handle.close()
    this.#socket = undefined
    this.#redirectSocket?.handle.close()
    this.#admin?.close()
    this.#admin?.closeAllConnections()
    this.#options.onExit(this.#exitCode, this.#fatalError)
  }
}
