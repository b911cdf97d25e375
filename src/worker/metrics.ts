import type { Registry } from 'prom-client'
import type { MetricsSnapshot } from '../shared/messages.js'
import { scrapeTimeMetrics } from '../shared/scrape-time-metrics.js'
import type { CloseRecord } from './close-cause.js'
import type { ConnectionObserver } from './connection-accounting.js'

/**
 * A worker's counters. They are plain numbers until the first scrape of
 * --admin-port: only then is prom-client loaded and given a registry whose
 * metrics read these numbers at each scrape (collect), so a worker nobody
 * scrapes never holds prom-client (~1.2 MiB of RSS, docs/performance-history.md "Memory").
 * The primary collects the snapshots over IPC and merges them with
 * prom-client's AggregatorRegistry.
 */
export class WorkerMetrics implements ConnectionObserver {
  readonly #workerId: number
  readonly #droppedLogLines: () => number
  #opened = 0
  #open = 0
  #rejected = 0
  // Responses by status code: Node accepts status codes 100-999. A plain
  // array also spares the hot path a Counter's label hashing, ~1,200
  // instructions per response (docs/performance-history.md, "Instructions per request").
  readonly #responses = new Float64Array(1000)
  // Closed connections by cause and reason ("cause\nreason").
  readonly #closed = new Map<string, { readonly cause: string, readonly reason: string, count: number }>()
  #registry: Promise<Registry> | undefined

  /** `droppedLogLines`: how many log lines stdout refused so far (logger.ts). */
  constructor (workerId: number, droppedLogLines: () => number = () => 0) {
    this.#workerId = workerId
    this.#droppedLogLines = droppedLogLines
  }

  opened (): void {
    this.#opened++
    this.#open++
  }

  closed (record: CloseRecord): void {
    const key = `${record.cause}\n${record.reason}`
    const entry = this.#closed.get(key)
    if (entry === undefined) this.#closed.set(key, { cause: record.cause, reason: record.reason, count: 1 })
    else entry.count++
    this.#open--
  }

  rejected (): void {
    this.#rejected++
  }

  response (status: number): void {
    this.#responses[status] = (this.#responses[status] ?? 0) + 1
  }

  /** The metrics as JSON, plus the same values labelled `worker="all"` so the aggregate carries totals. */
  async snapshot (): Promise<MetricsSnapshot> {
    this.#registry ??= this.#loadPrometheus()
    const metrics = await (await this.#registry).getMetricsAsJSON()
    return metrics.map((metric) => ({
      ...metric,
      values: [...metric.values, ...metric.values.map((v) => ({ ...v, labels: { ...v.labels, worker: 'all' } }))]
    }))
  }

  // Every metric is rebuilt from the fields above at each scrape (collect).
  async #loadPrometheus (): Promise<Registry> {
    const prom = await import('prom-client')
    const registry = new prom.Registry()
    registry.setDefaultLabels({ worker: String(this.#workerId) })
    const metrics = scrapeTimeMetrics(prom, registry)
    metrics.counter('seraph_connections_opened_total', 'TCP connections accepted', () => this.#opened)
    metrics.labelledCounter('seraph_connections_closed_total',
      'Connections closed, by cause (normal, client_closed, client_reset, timeout, tls_error, http_error, proxy_protocol, shutdown, error) and reason',
      ['cause', 'reason'], () => [...this.#closed.values()].map(({ cause, reason, count }) => [{ cause, reason }, count] as const))
    metrics.gauge('seraph_connections_open', 'Connections open now', () => this.#open)
    metrics.counter('seraph_connections_rejected_total', 'Connections refused by --max-connections', () => this.#rejected)
    metrics.labelledCounter('seraph_http_requests_total', 'HTTP responses sent, by status code', ['status'], () => {
      const counted: Array<readonly [{ status: string }, number]> = []
      this.#responses.forEach((count, status) => { if (count > 0) counted.push([{ status: String(status) }, count]) })
      return counted
    })
    metrics.counter('seraph_log_lines_dropped_total', 'Log lines dropped because stdout (a full pipe) did not take them', this.#droppedLogLines)
    return registry
  }
}
