import type { AggregatorRegistry, Registry } from 'prom-client'
import { scrapeTimeMetrics } from '../shared/scrape-time-metrics.js'
import type { AdminSource } from './admin-server.js'
import { WorkerReports } from './reports-from-workers.js'
import type { WorkerPool, WorkerState } from './worker-pool.js'

type ReloadResult = 'done' | 'refused' | 'failed'

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
 *
 * The primary's own counts are plain fields until the first scrape: only then
 * is prom-client loaded, so a primary without --admin-port never holds it
 * (~3 MiB of RSS, docs/performance-history.md "Memory: the primary").
 */
export class ClusterStatus implements AdminSource {
  readonly #pool: WorkerPool
  readonly #wanted: () => number
  readonly #stopping: () => boolean
  readonly reports = new WorkerReports()
  readonly #sessions: () => number
  #restarts = 0
  readonly #reloads = new Map<ReloadResult, number>()
  /** prom-client, loaded at the first scrape: the primary's own registry and the aggregator. */
  #prometheus: Promise<{ registry: Registry, aggregate: typeof AggregatorRegistry.aggregate }> | undefined

  readonly #extrasNow: () => ReadonlyArray<ExtraStatus | undefined>

  constructor (options: ClusterStatusOptions) {
    this.#sessions = options.sessions
    this.#extrasNow = options.extras ?? (() => [])
    this.#pool = options.pool
    this.#wanted = options.wanted
    this.#stopping = options.stopping
  }

  // Every value is read from the fields above at each scrape (collect).
  async #loadPrometheus (): Promise<{ registry: Registry, aggregate: typeof AggregatorRegistry.aggregate }> {
    const prom = await import('prom-client')
    const registry = new prom.Registry()
    const metrics = scrapeTimeMetrics(prom, registry)
    metrics.counter('seraph_worker_restarts_total', 'Workers replaced after an unexpected exit', () => this.#restarts)
    metrics.labelledCounter('seraph_reloads_total', 'Rolling reloads, by result', ['result'],
      () => [...this.#reloads].map(([result, count]) => [{ result }, count] as const))
    metrics.gauge('seraph_workers_listening', 'Workers accepting connections', () => this.#pool.serving().length)
    metrics.gauge('seraph_tls_session_cache_entries', 'TLS sessions in the cache shared by all workers', this.#sessions)
    return { registry, aggregate: (all) => prom.AggregatorRegistry.aggregate(all) }
  }

  // Read at each scrape: ACME's status exists only once the primary started it.
  #extras (): ExtraStatus[] {
    return this.#extrasNow().filter((extra) => extra !== undefined)
  }

  workerRestarted (): void {
    this.#restarts++
  }

  reloaded (result: ReloadResult): void {
    this.#reloads.set(result, (this.#reloads.get(result) ?? 0) + 1)
  }

  async #collect (metrics: boolean) {
    return Promise.all(this.#pool.all().map(async (state: WorkerState) => ({
      state,
      report: state.listening && state.worker.isConnected() ? await this.reports.request((message) => this.#pool.send(state, message), metrics) : undefined
    })))
  }

  async metrics (): Promise<string> {
    const reports = await this.#collect(true)
    const perWorker = reports.flatMap(({ report }) => report?.metrics === undefined ? [] : [report.metrics])
    const extra = await Promise.all(this.#extras().map((source) => source.registry.getMetricsAsJSON()))
    this.#prometheus ??= this.#loadPrometheus()
    const { registry, aggregate } = await this.#prometheus
    return aggregate([...perWorker, await registry.getMetricsAsJSON(), ...extra]).metrics()
  }

  async health (): Promise<{ healthy: boolean, [field: string]: unknown }> {
    const reports = await this.#collect(false)
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
