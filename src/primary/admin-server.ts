import { createServer, type Server } from 'node:http'
import { SeraphError } from '../shared/errors.js'

export interface AdminSource {
  /** Prometheus text exposition of every worker's and the primary's metrics. */
  metrics (): Promise<string>
  /** Per-worker state for `/healthz`. */
  health (): Promise<{ healthy: boolean, [field: string]: unknown }>
}

/**
 * The admin listener: plain HTTP on 127.0.0.1 only, `GET /metrics` and
 * `GET /healthz`. It runs in the primary, which holds no blog traffic.
 */
export async function startAdminServer (port: number, source: AdminSource): Promise<{ server: Server, port: number }> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]
    const answer = (status: number, type: string, body: string): void => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body)
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') return answer(405, 'text/plain', 'method not allowed\n')
    if (path === '/metrics') {
      source.metrics().then(
        (text) => answer(200, 'text/plain; version=0.0.4; charset=utf-8', text),
        (err: unknown) => answer(500, 'text/plain', `metrics unavailable: ${(err as Error).message}\n`))
      return
    }
    if (path === '/healthz') {
      source.health().then(
        (health) => answer(health.healthy ? 200 : 503, 'application/json', JSON.stringify(health)),
        (err: unknown) => answer(500, 'text/plain', `health unavailable: ${(err as Error).message}\n`))
      return
    }
    answer(404, 'text/plain', 'not found: try /metrics or /healthz\n')
  })
  server.headersTimeout = 5_000
  server.requestTimeout = 10_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new SeraphError('SERAPH_ERR_ADMIN_LISTEN_FAILED', port, err.code ?? err.message)))
    server.listen(port, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  return { server, port: typeof address === 'object' && address !== null ? address.port : port }
}
