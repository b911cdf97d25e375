import type { MetricObjectWithValues, MetricValue } from 'prom-client'
import type { CloseRecord, ConnectionObserver } from './connection-accounting.js'

type Snapshot = MetricObjectWithValues<MetricValue<string>>

/** One metric family: its values by label set, in the order they first appeared. */
class Family {
  readonly #values = new Map<string, { labels: Record<string, string>, value: number }>()

  constructor (
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
    // A family without labels reports its one value from the start (0), as prom-client does.
    unlabelled: boolean
  ) {
    if (unlabelled) this.child('', {})
  }

  /** The value for `labels` (created at 0); `key` identifies the label set. */
  child (key: string, labels: Record<string, string>): { value: number } {
    let entry = this.#values.get(key)
    if (entry === undefined) {
      entry = { labels, value: 0 }
      this.#values.set(key, entry)
    }
    return entry
  }

  json (worker: string): Snapshot {
    const values = [...this.#values.values()]
    const labelled = (extra: string): MetricValue<string>[] => values.map(({ labels, value }) => ({ value, labels: { ...labels, worker: extra } }))
    return {
      help: this.help,
      name: this.name,
      type: this.type,
      values: [...labelled(worker), ...labelled('all')],
      aggregator: 'sum'
    } as unknown as Snapshot
  }
}

/**
 * A worker's counters. The primary collects them over IPC as JSON and merges
 * them with prom-client's AggregatorRegistry; the JSON is exactly what
 * prom-client's `getMetricsAsJSON()` gives for the same counters (the
 * equivalence is tested in test/worker-metrics.test.ts), but a worker does
 * not load prom-client (and its dependencies) for six counters: ~4 MiB of
 * RSS per worker (bench/README.md, "Memory").
 */
export class WorkerMetrics implements ConnectionObserver {
  readonly #worker: string
  readonly #droppedLogLines: () => number
  readonly #opened = new Family('seraph_connections_opened_total', 'TCP connections accepted', 'counter', true)
  readonly #closed = new Family('seraph_connections_closed_total',
    'Connections closed, by cause (normal, client_closed, client_reset, timeout, tls_error, http_error, proxy_protocol, shutdown, error) and reason', 'counter', false)

  readonly #open = new Family('seraph_connections_open', 'Connections open now', 'gauge', true)
  readonly #rejected = new Family('seraph_connections_rejected_total', 'Connections refused by --max-connections', 'counter', true)
  readonly #requests = new Family('seraph_http_requests_total', 'HTTP responses sent, by status code', 'counter', false)
  readonly #dropped = new Family('seraph_log_lines_dropped_total', 'Log lines dropped because stdout (a full pipe) did not take them', 'counter', true)
  readonly #openedValue = this.#opened.child('', {})
  readonly #openValue = this.#open.child('', {})
  readonly #rejectedValue = this.#rejected.child('', {})
  // Bound values per label set: no label hashing per response or close.
  readonly #byStatus = new Map<number, { value: number }>()
  readonly #byCause = new Map<string, { value: number }>()

  /** `droppedLogLines`: how many log lines stdout refused so far (logger.ts). */
  constructor (workerId: number, droppedLogLines: () => number = () => 0) {
    this.#worker = String(workerId)
    this.#droppedLogLines = droppedLogLines
  }

  opened (): void {
    this.#openedValue.value++
    this.#openValue.value++
  }

  closed (record: CloseRecord): void {
    const key = `${record.cause}\n${record.reason}`
    let counter = this.#byCause.get(key)
    if (counter === undefined) {
      counter = this.#closed.child(key, { cause: record.cause, reason: record.reason })
      this.#byCause.set(key, counter)
    }
    counter.value++
    this.#openValue.value--
  }

  rejected (): void {
    this.#rejectedValue.value++
  }

  response (status: number): void {
    let counter = this.#byStatus.get(status)
    if (counter === undefined) {
      counter = this.#requests.child(String(status), { status: String(status) })
      this.#byStatus.set(status, counter)
    }
    counter.value++
  }

  /** The metrics as JSON, plus the same values labelled `worker="all"` so the aggregate carries totals. */
  async snapshot (): Promise<Snapshot[]> {
    // Read at every scrape: the batcher's count only grows.
    this.#dropped.child('', {}).value = this.#droppedLogLines()
    return [this.#opened, this.#closed, this.#open, this.#rejected, this.#requests, this.#dropped].map((family) => family.json(this.#worker))
  }
}
