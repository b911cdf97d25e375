import t from 'tap'
import { WorkerMetrics } from '../src/worker/metrics.js'

async function droppedValue (metrics: WorkerMetrics): Promise<number | undefined> {
  const snapshot = await metrics.snapshot()
  const metric = snapshot.find((m) => m.name === 'seraph_log_lines_dropped_total')
  return metric?.values.find((v) => v.labels.worker === '3')?.value
}

t.test('dropped log lines are a counter read at every scrape', async (t) => {
  let dropped = 0
  const metrics = new WorkerMetrics(3, () => dropped)
  t.equal(await droppedValue(metrics), 0, 'present, and 0 while nothing was dropped')
  dropped = 5
  t.equal(await droppedValue(metrics), 5)
  dropped = 7
  t.equal(await droppedValue(metrics), 7, 'follows the batcher\'s count')
  t.equal(await droppedValue(metrics), 7, 'a scrape without new drops adds nothing')
})

// What the worker's counters were built with before: prom-client, in a
// registry of their own. The primary aggregates the JSON with prom-client's
// AggregatorRegistry, so the hand-made counters must give the same JSON.
async function promClientReference (workerId: number, dropped: number, act: (m: {
  opened: () => void, closed: (cause: string, reason: string) => void, rejected: () => void, response: (status: number) => void
}) => void): Promise<unknown> {
  const { Counter, Gauge, Registry } = await import('prom-client')
  const registry = new Registry()
  registry.setDefaultLabels({ worker: String(workerId) })
  const registers = [registry]
  const opened = new Counter({ name: 'seraph_connections_opened_total', help: 'TCP connections accepted', registers })
  const closed = new Counter({
    name: 'seraph_connections_closed_total',
    help: 'Connections closed, by cause (normal, client_closed, client_reset, timeout, tls_error, http_error, proxy_protocol, shutdown, error) and reason',
    labelNames: ['cause', 'reason'],
    registers
  })
  const open = new Gauge({ name: 'seraph_connections_open', help: 'Connections open now', registers })
  const rejected = new Counter({ name: 'seraph_connections_rejected_total', help: 'Connections refused by --max-connections', registers })
  const requests = new Counter({ name: 'seraph_http_requests_total', help: 'HTTP responses sent, by status code', labelNames: ['status'], registers })
  const droppedCounter = new Counter({ name: 'seraph_log_lines_dropped_total', help: 'Log lines dropped because stdout (a full pipe) did not take them', registers })
  if (dropped > 0) droppedCounter.inc(dropped)
  act({
    opened: () => { opened.inc(); open.inc() },
    closed: (cause, reason) => { closed.labels(cause, reason).inc(); open.dec() },
    rejected: () => rejected.inc(),
    response: (status) => requests.labels(String(status)).inc()
  })
  const metrics = await registry.getMetricsAsJSON()
  return metrics.map((metric) => ({
    ...metric,
    values: [...metric.values, ...metric.values.map((v) => ({ ...v, labels: { ...v.labels, worker: 'all' } }))]
  }))
}

t.test('the snapshot is exactly the JSON prom-client gives for the same counters', async (t) => {
  const sequences: Array<[string, number, Parameters<typeof promClientReference>[2]]> = [
    ['nothing happened', 0, () => {}],
    ['connections, closes, responses, a refusal, dropped lines', 4, (m) => {
      m.opened(); m.opened(); m.opened()
      m.closed('normal', 'end'); m.closed('timeout', 'idle'); m.closed('normal', 'end')
      m.response(200); m.response(304); m.response(200); m.response(404)
      m.rejected()
    }]
  ]
  for (const [name, dropped, act] of sequences) {
    const ours = new WorkerMetrics(2, () => dropped)
    act({
      opened: () => ours.opened(),
      closed: (cause, reason) => ours.closed({ cause, reason } as Parameters<WorkerMetrics['closed']>[0]),
      rejected: () => ours.rejected(),
      response: (status) => ours.response(status)
    })
    // Compared as text: the order of metrics, values and keys is the same too.
    t.equal(JSON.stringify(await ours.snapshot()), JSON.stringify(await promClientReference(2, dropped, act)), name)
  }
})
