import { request } from 'undici'

export type Metrics = Map<string, number>

/** Reads the admin listener's Prometheus text into `name{labels}` → value. */
export async function readMetrics (adminUrl: string): Promise<Metrics> {
  const res = await request(`${adminUrl}metrics`)
  const text = await res.body.text()
  const metrics: Metrics = new Map()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const space = line.lastIndexOf(' ')
    metrics.set(normalize(line.slice(0, space)), Number(line.slice(space + 1)))
  }
  return metrics
}

// Sorts labels so lookups do not depend on their order in the exposition.
function normalize (series: string): string {
  const brace = series.indexOf('{')
  if (brace === -1) return series
  const labels = series.slice(brace + 1, -1).match(/\w+="(?:[^"\\]|\\.)*"/g) ?? []
  return `${series.slice(0, brace)}{${labels.sort().join(',')}}`
}

/** Total over all workers (the `worker="all"` series) of a metric, optionally filtered by more labels. */
export function total (metrics: Metrics, name: string, labels: Record<string, string> = {}): number {
  let sum = 0
  for (const [series, value] of metrics) {
    if (!series.startsWith(`${name}{`) || !series.includes('worker="all"')) continue
    if (Object.entries(labels).every(([k, v]) => series.includes(`${k}="${v}"`))) sum += value
  }
  return sum
}

/** Closed-connection counts by `cause` (and `cause: reason`), totals over all workers. */
export function closeCauses (metrics: Metrics): Map<string, number> {
  const causes = new Map<string, number>()
  for (const [series, value] of metrics) {
    if (!series.startsWith('seraph_connections_closed_total{') || !series.includes('worker="all"')) continue
    const cause = /cause="([^"]*)"/.exec(series)?.[1] ?? ''
    causes.set(cause, (causes.get(cause) ?? 0) + value)
  }
  return causes
}

export async function health (adminUrl: string): Promise<{ healthy: boolean, workers: Array<{ id: number, pid: number, state: string }> }> {
  const res = await request(`${adminUrl}healthz`)
  return await res.body.json() as { healthy: boolean, workers: Array<{ id: number, pid: number, state: string }> }
}

/**
 * Polls the admin listener until `done(metrics)`: the counters live in other
 * processes, so there is no event to await here. Throws `failure(metrics)`
 * after `timeoutMs`.
 */
async function untilMetrics (adminUrl: string, done: (metrics: Metrics) => boolean, failure: (metrics: Metrics) => string, timeoutMs: number): Promise<Metrics> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const metrics = await readMetrics(adminUrl)
    if (done(metrics)) return metrics
    if (Date.now() > deadline) throw new Error(failure(metrics))
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * Waits until every connection counted as opened is counted as closed and the
 * open gauge is back to zero.
 */
export async function settled (adminUrl: string, timeoutMs = 15_000): Promise<Metrics> {
  const opened = (metrics: Metrics): number => total(metrics, 'seraph_connections_opened_total')
  const closed = (metrics: Metrics): number => total(metrics, 'seraph_connections_closed_total')
  return untilMetrics(adminUrl,
    (metrics) => total(metrics, 'seraph_connections_open') === 0 && opened(metrics) === closed(metrics),
    (metrics) => `not settled: opened ${opened(metrics)}, closed ${closed(metrics)}`, timeoutMs)
}

/** Resolves once the workers count at least `count` open connections (accepted, whatever their state). */
export async function openConnections (adminUrl: string, count: number, timeoutMs = 15_000): Promise<void> {
  const open = (metrics: Metrics): number => total(metrics, 'seraph_connections_open')
  await untilMetrics(adminUrl, (metrics) => open(metrics) >= count, (metrics) => `${open(metrics)} connection(s) open, not ${count}`, timeoutMs)
}
