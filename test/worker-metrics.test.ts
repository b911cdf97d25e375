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

t.test('responses are counted by status, the same at every scrape until more come', async (t) => {
  const metrics = new WorkerMetrics(2)
  const values = async (): Promise<Record<string, number>> => {
    const metric = (await metrics.snapshot()).find((m) => m.name === 'seraph_http_requests_total')
    return Object.fromEntries((metric?.values ?? []).filter((v) => v.labels.worker === '2').map((v) => [String(v.labels.status), v.value]))
  }
  t.same(await values(), {}, 'no series before the first response')
  for (const status of [200, 200, 304, 404, 200]) metrics.response(status)
  t.same(await values(), { 200: 3, 304: 1, 404: 1 })
  t.same(await values(), { 200: 3, 304: 1, 404: 1 }, 'a second scrape adds nothing')
  metrics.response(404)
  t.same(await values(), { 200: 3, 304: 1, 404: 2 }, 'a new response is in the next scrape')
  const all = (await metrics.snapshot()).find((m) => m.name === 'seraph_http_requests_total')?.values.filter((v) => v.labels.worker === 'all')
  t.same(all?.map((v) => [v.labels.status, v.value]), [['200', 3], ['304', 1], ['404', 2]], 'and as worker="all" for the totals')
})

t.test('connection counts made before the first scrape are in it, and later ones in the next', async (t) => {
  const metrics = new WorkerMetrics(4)
  const values = async (name: string): Promise<Array<[string, number]>> => {
    const metric = (await metrics.snapshot()).find((m) => m.name === name)
    return (metric?.values ?? []).filter((v) => v.labels.worker === '4')
      .map((v) => [[v.labels.cause, v.labels.reason].filter((l) => l !== undefined).join('/'), v.value])
  }
  for (let i = 0; i < 3; i++) metrics.opened()
  metrics.closed({ cause: 'client_reset', reason: 'ECONNRESET' })
  metrics.rejected()
  t.same(await values('seraph_connections_opened_total'), [['', 3]])
  t.same(await values('seraph_connections_open'), [['', 2]])
  t.same(await values('seraph_connections_closed_total'), [['client_reset/ECONNRESET', 1]])
  t.same(await values('seraph_connections_rejected_total'), [['', 1]])
  metrics.closed({ cause: 'normal', reason: 'client_closed' })
  metrics.closed({ cause: 'client_reset', reason: 'ECONNRESET' })
  t.same(await values('seraph_connections_open'), [['', 0]], 'the gauge follows closes')
  t.same(await values('seraph_connections_closed_total'), [['client_reset/ECONNRESET', 2], ['normal/client_closed', 1]], 'each cause and reason its own series')
  t.same(await values('seraph_connections_opened_total'), [['', 3]], 'a scrape without new connections adds nothing')
})
