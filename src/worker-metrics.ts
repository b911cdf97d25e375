import { Counter, Gauge, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client'
import type { CloseRecord, ConnectionObserver } from './connection-accounting.js'

/**
 * A worker's counters, in its own prom-client registry. The primary collects
 * them over IPC and merges them with prom-client's AggregatorRegistry.
 */
export class WorkerMetrics implements ConnectionObserver {
  readonly registry = new Registry()
  readonly #opened: Counter
  readonly #closed: Counter<'cause' | 'reason'>
  readonly #open: Gauge
  readonly #rejected: Counter
  readonly #requests: Counter<'status'>
  // Bound children per label set: no label hashing per response or close.
  readonly #byStatus = new Map<number, { inc: () => void }>()
  readonly #byCause = new Map<string, { inc: () => void }>()

  constructor (workerId: number) {
    this.registry.setDefaultLabels({ worker: String(workerId) })
    const registers = [this.registry]
    this.#opened = new Counter({ name: 'seraph_connections_opened_total', help: 'TCP connections accepted', registers })
    this.#closed = new Counter({
      name: 'seraph_connections_closed_total',
      help: 'Connections closed, by cause (normal, client_closed, client_reset, timeout, tls_error, http_error, shutdown, error) and reason',
      labelNames: ['cause', 'reason'],
      registers
    })
    this.#open = new Gauge({ name: 'seraph_connections_open', help: 'Connections open now', registers })
    this.#rejected = new Counter({ name: 'seraph_connections_rejected_total', help: 'Connections refused by --max-connections', registers })
    this.#requests = new Counter({ name: 'seraph_http_requests_total', help: 'HTTP responses sent, by status code', labelNames: ['status'], registers })
  }

  opened (): void {
    this.#opened.inc()
    this.#open.inc()
  }

  closed (record: CloseRecord): void {
    const key = `${record.cause}\n${record.reason}`
    let counter = this.#byCause.get(key)
    if (counter === undefined) {
      counter = this.#closed.labels(record.cause, record.reason)
      this.#byCause.set(key, counter)
    }
    counter.inc()
    this.#open.dec()
  }

  rejected (): void {
    this.#rejected.inc()
  }

  response (status: number): void {
    let counter = this.#byStatus.get(status)
    if (counter === undefined) {
      counter = this.#requests.labels(String(status))
      this.#byStatus.set(status, counter)
    }
    counter.inc()
  }

  /** The metrics as JSON, plus the same values labelled `worker="all"` so the aggregate carries totals. */
  async snapshot (): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
    const metrics = await this.registry.getMetricsAsJSON()
    return metrics.map((metric) => ({
      ...metric,
      values: [...metric.values, ...metric.values.map((v) => ({ ...v, labels: { ...v.labels, worker: 'all' } }))]
    }))
  }
}
