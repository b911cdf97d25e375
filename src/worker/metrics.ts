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
  // Responses by status code, counted in a plain array and handed to
  // prom-client at each scrape (collect): a Counter's inc() hashes its labels
  // on every call, ~1,200 instructions per response (bench/README.md,
  // "Instructions per request"). Node accepts status codes 100-999.
  readonly #responses = new Float64Array(1000)
  // Bound children per label set: no label hashing per close.
  readonly #byCause = new Map<string, { inc: () => void }>()

  /** `droppedLogLines`: how many log lines stdout refused so far (logger.ts). */
  constructor (workerId: number, droppedLogLines: () => number = () => 0) {
    this.registry.setDefaultLabels({ worker: String(workerId) })
    const registers = [this.registry]
    this.#opened = new Counter({ name: 'seraph_connections_opened_total', help: 'TCP connections accepted', registers })
    this.#closed = new Counter({
      name: 'seraph_connections_closed_total',
      help: 'Connections closed, by cause (normal, client_closed, client_reset, timeout, tls_error, http_error, proxy_protocol, shutdown, error) and reason',
      labelNames: ['cause', 'reason'],
      registers
    })
    this.#open = new Gauge({ name: 'seraph_connections_open', help: 'Connections open now', registers })
    this.#rejected = new Counter({ name: 'seraph_connections_rejected_total', help: 'Connections refused by --max-connections', registers })
    const responses = this.#responses
    // eslint-disable-next-line no-new -- registered by the constructor; read at every scrape
    new Counter({
      name: 'seraph_http_requests_total',
      help: 'HTTP responses sent, by status code',
      labelNames: ['status'],
      registers,
      collect () {
        this.reset()
        responses.forEach((count, status) => { if (count > 0) this.inc({ status: String(status) }, count) })
      }
    })
    let reported = 0
    // eslint-disable-next-line no-new -- registered by the constructor; read at every scrape
    new Counter({
      name: 'seraph_log_lines_dropped_total',
      help: 'Log lines dropped because stdout (a full pipe) did not take them',
      registers,
      collect () {
        const dropped = droppedLogLines()
        if (dropped > reported) this.inc(dropped - reported)
        reported = dropped
      }
    })
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
    this.#responses[status] = (this.#responses[status] ?? 0) + 1
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
