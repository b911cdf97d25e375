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
