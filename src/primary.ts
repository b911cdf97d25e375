/**
 * The primary process: binds the port once and keeps it, forks and supervises
 * the workers, and turns signals into orderly shutdowns. It never serves a
 * request; everything it knows about a worker comes over IPC (messages.ts).
 */
import cluster, { type Worker } from 'node:cluster'
import type { Server } from 'node:http'
import { fileURLToPath } from 'node:url'
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client'
import { startAdminServer } from './admin-server.js'
import type { Config } from './config.js'
import { isSeraphErrorCode, SeraphError } from './errors.js'
import { bindListeningSocket, listenError, type BoundSocket } from './listen-handle.js'
import type { Logger } from './logger.js'
import { dispatch, type DispatchTable, type WorkerMessage, type WorkerReport, type WorkerSettings } from './messages.js'
import { RestartPolicy, type RestartPolicyOptions } from './restart-policy.js'
import { WorkerReports } from './worker-reports.js'

const workerScript = fileURLToPath(new URL('../workers/worker.js', import.meta.url))

/** How long after its own deadline a draining worker gets before SIGKILL. */
const shutdownGraceMs = 5_000

export interface PrimaryOptions {
  readonly config: Config
  readonly logger: Logger
  readonly certPath: string
  readonly keyPath: string
  readonly restartPolicy?: RestartPolicyOptions
  /** Called once with the exit code when the primary has stopped everything. */
  readonly onExit: (code: number, error?: SeraphError) => void
}

interface WorkerState {
  readonly worker: Worker
  readonly startedAt: number
  listening: boolean
}

export class Primary {
  readonly #options: PrimaryOptions
  readonly #log: Logger
  readonly #policy: RestartPolicy
  readonly #workers = new Map<number, WorkerState>()
  readonly #restartTimers = new Set<NodeJS.Timeout>()
  #socket: BoundSocket | undefined
  #ready = false
  #stopping = false
  #exitCode = 0
  #fatalError: SeraphError | undefined
  #onReady: (() => void) | undefined
  #admin: Server | undefined
  readonly #reports = new WorkerReports()
  readonly #registry = new Registry()
  readonly #restarts = new Counter({ name: 'seraph_worker_restarts_total', help: 'Workers replaced after an unexpected exit', registers: [this.#registry] })

  constructor (options: PrimaryOptions) {
    this.#options = options
    this.#log = options.logger
    this.#policy = new RestartPolicy(options.restartPolicy)
  }

  /** Binds the port, starts the workers and resolves once every one of them listens. */
  async start (): Promise<{ port: number, url: string, adminUrl?: string }> {
    const { config } = this.#options
    this.#socket = await bindListeningSocket(config.host, config.port)
    let adminUrl: string | undefined
    if (config.adminPort !== undefined) {
      const admin = await startAdminServer(config.adminPort, { metrics: () => this.#metrics(), health: () => this.#health() })
      this.#admin = admin.server
      adminUrl = `http://127.0.0.1:${admin.port}/`
    }
    const listening = new Gauge({
      name: 'seraph_workers_listening',
      help: 'Workers accepting connections',
      registers: [this.#registry],
      collect: () => { listening.set([...this.#workers.values()].filter((s) => s.listening).length) }
    })
    cluster.setupPrimary({ exec: workerScript, args: [], silent: false })
    cluster.on('exit', (worker, code, signal) => this.#onWorkerExit(worker, code, signal))
    const ready = new Promise<void>((resolve) => { this.#onReady = resolve })
    for (let i = 0; i < config.workers; i++) this.#fork()
    await ready
    const port = this.#socket.port
    return { port, url: publicUrl(config.host, port), ...(adminUrl === undefined ? {} : { adminUrl }) }
  }

  async #collect (): Promise<Array<{ state: WorkerState, report: WorkerReport | undefined }>> {
    const states = [...this.#workers.values()]
    return Promise.all(states.map(async (state) => ({ state, report: state.listening ? await this.#reports.request(state.worker) : undefined })))
  }

  async #metrics (): Promise<string> {
    const reports = await this.#collect()
    const perWorker = reports.flatMap(({ report }) => report === undefined ? [] : [report.metrics])
    const merged = AggregatorRegistry.aggregate([...perWorker, await this.#registry.getMetricsAsJSON()])
    return merged.metrics()
  }

  async #health (): Promise<{ healthy: boolean, [field: string]: unknown }> {
    const reports = await this.#collect()
    const workers = reports.map(({ state, report }) => ({
      id: state.worker.id,
      pid: state.worker.process.pid,
      state: !state.listening ? 'starting' : report === undefined ? 'unresponsive' : report.draining ? 'draining' : 'listening',
      uptimeSeconds: Math.round((Date.now() - state.startedAt) / 1000),
      connectionsOpen: report?.connectionsOpen ?? null
    }))
    const serving = workers.filter((w) => w.state === 'listening').length
    return { healthy: serving > 0 && !this.#stopping, stopping: this.#stopping, workersWanted: this.#options.config.workers, workers }
  }

  /** Drains every worker; `force` closes their connections at once. */
  stop (force: boolean, exitCode = 0): void {
    if (this.#stopping && !force) return
    if (!this.#stopping) this.#exitCode = exitCode
    this.#stopping = true
    for (const timer of this.#restartTimers) clearTimeout(timer)
    this.#restartTimers.clear()
    this.#log.info({ force, workers: this.#workers.size }, force ? 'forcing shutdown' : 'shutting down')
    for (const { worker } of this.#workers.values()) {
      if (worker.isConnected()) worker.send({ act: 'shutdown', force })
    }
    if (!force) {
      // Backstop for a worker that ignores its own deadline.
      setTimeout(() => this.#killAll(), this.#options.config.shutdownTimeoutMs + shutdownGraceMs).unref()
    }
    this.#finishIfDone()
  }

  #fork (): void {
    const worker = cluster.fork()
    const state: WorkerState = { worker, startedAt: Date.now(), listening: false }
    this.#workers.set(worker.id, state)
    this.#log.info({ worker: worker.id, workerPid: worker.process.pid }, 'worker forked')
    const handlers: DispatchTable<WorkerMessage> = {
      hello: () => this.#sendStart(worker),
      report: (message) => this.#reports.received(message.requestId, message.report),
      listening: () => this.#onWorkerListening(state),
      'start-failed': (message) => this.#onStartFailed(state, message.code, message.message)
    }
    worker.on('message', (message: unknown) => { dispatch(handlers, message, undefined) })
  }

  // Sent on the worker's 'hello', not on cluster's 'online': 'online' comes
  // before an ES module worker has installed its message handler, and a
  // message that arrives earlier is dropped.
  #sendStart (worker: Worker): void {
    const { config, certPath, keyPath } = this.#options
    const settings: WorkerSettings = {
      workerId: worker.id,
      root: config.root,
      certPath,
      keyPath,
      logLevel: config.logLevel,
      shutdownTimeoutMs: config.shutdownTimeoutMs,
      limits: config.limits
    }
    // The bound socket travels with the message; each worker listens on it.
    worker.send({ act: 'start', settings }, this.#socket?.handle as never)
  }

  #onWorkerListening (state: WorkerState): void {
    state.listening = true
    this.#policy.workerListening()
    this.#log.info({ worker: state.worker.id, workerPid: state.worker.process.pid }, 'worker listening')
    if (this.#ready || this.#stopping) return
    const listening = [...this.#workers.values()].filter((s) => s.listening).length
    if (listening < this.#options.config.workers) return
    this.#ready = true
    this.#onReady?.()
  }

  #onStartFailed (state: WorkerState, code: string | undefined, message: string): void {
    const { config } = this.#options
    // A listen error or a bad setting fails the same way in every worker:
    // report it as the operator's problem instead of restarting in a loop.
    if (isSeraphErrorCode(code)) return this.#fail(new SeraphError('SERAPH_ERR_WORKER_START', state.worker.id, message))
    if (code !== undefined && /^E[A-Z]+$/.test(code) && /listen/i.test(message)) {
      return this.#fail(listenError(code, config.host, this.#socket?.port ?? config.port))
    }
    this.#log.error({ worker: state.worker.id, code, error: message }, 'worker could not start')
  }

  #onWorkerExit (worker: Worker, code: number | null, signal: string | null): void {
    const state = this.#workers.get(worker.id)
    if (state === undefined) return
    this.#workers.delete(worker.id)
    const fields = { worker: worker.id, workerPid: worker.process.pid, code, signal }
    if (this.#stopping) {
      this.#log.info(fields, 'worker exited')
      return this.#finishIfDone()
    }
    const livedMs = Date.now() - state.startedAt
    this.#log.warn({ ...fields, livedMs }, 'worker died unexpectedly')
    this.#restarts.inc()
    const decision = this.#policy.workerDied(livedMs, state.listening)
    if (decision.action === 'give-up') {
      const last = signal === null ? `exited with code ${String(code)}` : `was killed by ${signal}`
      return this.#fail(new SeraphError('SERAPH_ERR_CRASH_LOOP', decision.startFailures, last))
    }
    if (decision.delayMs === 0) return this.#fork()
    this.#log.warn({ delayMs: decision.delayMs }, 'workers keep dying; backing off before the next restart')
    const timer = setTimeout(() => {
      this.#restartTimers.delete(timer)
      this.#fork()
    }, decision.delayMs)
    this.#restartTimers.add(timer)
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
    this.#admin?.close()
    this.#admin?.closeAllConnections()
    this.#options.onExit(this.#exitCode, this.#fatalError)
  }
}

function publicUrl (host: string | undefined, port: number): string {
  const wildcard = host === undefined || host === '0.0.0.0' || host === '::'
  const name = wildcard ? 'localhost' : host.includes(':') ? `[${host}]` : host
  return `https://${name}:${port}/`
}
