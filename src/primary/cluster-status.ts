import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client'
import type { AdminSource } from './admin-server.js'
import { WorkerReports } from './reports-from-workers.js'
import type { WorkerPool, WorkerState } from './worker-pool.js'

export interface ExtraStatus {
  readonly registry: Registry
  health (): Record<string, unknown>
}

export interface ClusterStatusOptions {
  readonly pool: WorkerPool
  /** How many workers the configuration asks for. */
  readonly wanted: () => number
  readonly stopping: () => boolean
  /** Entries in the TLS session cache. */
  readonly sessions: () => number
  /** Metrics and health fields of the primary's own services (ACME, the shared store). */
  readonly extras?: () => ReadonlyArray<ExtraStatus | undefined>
}

/**
 * The admin listener's view of the cluster: every worker's counters, merged
 * with prom-client's AggregatorRegistry, the primary's own, and per-worker state.
 */
export class ClusterStatus implements AdminSource {
  readonly #pool: WorkerPool
  readonly #wanted: () => number
  readonly #stopping: () => boolean
  readonly reports = new WorkerReports()
  readonly #registry = new Registry()
  readonly #restarts = new Counter({ name: 'seraph_worker_restarts_total', help: 'Workers replaced after an unexpected exit', registers: [this.#registry] })
  readonly #reloads = new Counter({ name: 'seraph_reloads_total', help: 'Rolling reloads, by result', labelNames: ['result'], registers: [this.#registry] })

  readonly #extrasNow: () => ReadonlyArray<ExtraStatus | undefined>

  constructor (options: ClusterStatusOptions) {
    const { sessions } = options
    this.#extrasNow = options.extras ?? (() => [])
    this.#pool = options.pool
    this.#wanted = options.wanted
    this.#stopping = options.stopping
    const listening = new Gauge({
      name: 'seraph_workers_listening',
      help: 'Workers accepting connections',
      registers: [this.#registry],
      collect: () => { listening.set(this.#pool.serving().length) }
    })
    const cached = new Gauge({
      name: 'seraph_tls_session_cache_entries',
      help: 'TLS sessions in the cache shared by all workers',
      registers: [this.#registry],
      collect: () => { cached.set(sessions()) }
    })
  }

  // Read at each scrape: ACME's status exists only once the primary started it.
  #extras (): ExtraStatus[] {
    return this.#extrasNow().filter((extra) => extra !== undefined)
  }

  workerRestarted (): void {
    this.#restarts.inc()
  }

  reloaded (result: 'done' | 'refused' | 'failed'): void {
    this.#reloads.inc({ result })
  }

  async #collect () {
    return Promise.all(this.#pool.all().map(async (state: WorkerState) => ({
      state,
      report: state.listening && state.worker.isConnected() ? await this.reports.request((message) => this.#pool.send(state, message)) : undefined
    })))
  }

  async metrics (): Promise<string> {
    const reports = await this.#collect()
    const perWorker = reports.flatMap(({ report }) => report === undefined ? [] : [report.metrics])
    const extra = await Promise.all(this.#extras().map((source) => source.registry.getMetricsAsJSON()))
    return AggregatorRegistry.aggregate([...perWorker, await this.#registry.getMetricsAsJSON(), ...extra]).metrics()
  }

  async health (): Promise<{ healthy: boolean, [field: string]: unknown }> {
    const reports = await this.#collect()
    const workers = reports.map(({ state, report }) => ({
      id: state.worker.id,
      pid: state.worker.process.pid,
      generation: state.generation,
      state: !state.listening
        ? 'starting'
        : state.draining || report?.draining === true ? 'draining' : report === undefined ? 'unresponsive' : 'listening',
      uptimeSeconds: Math.round((Date.now() - state.startedAt) / 1000),
      connectionsOpen: report?.connectionsOpen ?? null
    }))
    const serving = workers.filter((w) => w.state === 'listening').length
    return { healthy: serving > 0 && !this.#stopping(), stopping: this.#stopping(), workersWanted: this.#wanted(), workers, ...Object.assign({}, ...this.#extras().map((source) => source.health())) }
  }
}
