import { Client } from 'undici'
import { Http2Client } from './http2-load.js'
import { getFresh } from './https-client.js'

export interface LoadResult {
  readonly ok: number
  readonly failed: number
  readonly errors: string[]
  /** Requests the keep-alive loops sent, and the connections they needed for them. */
  readonly keepAliveRequests: number
  readonly keepAliveConnections: number
  /** Keep-alive responses that said `Connection: close` (a draining worker's). */
  readonly closes: number
  /** GOAWAY frames the HTTP/2 loops received. */
  readonly goaways: number
}

export interface Load {
  /** Resolves once `count` more requests have been answered from now on. */
  answers (count: number): Promise<void>
  /** Failed requests so far. */
  failed (): number
  /** Stops the loops; safe to call more than once. */
  stop (): Promise<LoadResult>
}

export interface LoadTarget {
  readonly path: string
  readonly headers?: Record<string, string>
  /** The status that counts as answered. */
  readonly status: number
}

/**
 * One request per response path: a cached page (the fast path), a range and
 * a route (Fastify), a page that does not exist (the not-found handler).
 */
export const mixedTargets: readonly LoadTarget[] = [
  { path: '/index.html', status: 200 },
  { path: '/index.html', headers: { range: 'bytes=0-99' }, status: 206 },
  { path: '/healthz', status: 200 },
  { path: '/no-such-page', status: 404 }
]

export interface LoadOptions {
  readonly keepAlive: number
  readonly fresh: number
  readonly http2?: number
  /** Each loop cycles through these (default: `mixedTargets`). */
  readonly targets?: readonly LoadTarget[]
  /** Below the server's `--keep-alive-timeout`, so connections really are reused (default 500 ms). */
  readonly keepAliveTimeoutThresholdMs?: number
  /** The server name (SNI) every HTTP/1.1 connection sends and its certificate must match; default none (127.0.0.1). */
  readonly servername?: string
}

/**
 * Continuous load until stopped: `keepAlive` loops sharing a keep-alive pool
 * that reuses its connections until the server says close, `fresh` loops
 * that open a new TLS connection per request, and `http2` loops multiplexed
 * on one HTTP/2 session. Every error and every unexpected status is a
 * failure. A request that hangs fails on undici's timeouts.
 */
export function startLoad (ca: Buffer, port: number, options: LoadOptions): Load {
  const targets = options.targets ?? mixedTargets
  // One client per loop, one connection at a time: a new one only when the
  // server said close (or closed). undici stops reusing a connection
  // `threshold` before the timeout the server announces; its default (2 s) is
  // above a 1 s server timeout, which would open a connection per request.
  const clients = Array.from({ length: options.keepAlive }, () => new Client(`https://127.0.0.1:${port}`, {
    connect: { ca, ...(options.servername === undefined ? {} : { servername: options.servername }) },
    pipelining: 1,
    keepAliveTimeoutThreshold: options.keepAliveTimeoutThresholdMs ?? 500,
    headersTimeout: 10_000,
    bodyTimeout: 10_000
  }))
  let keepAliveConnections = 0
  let keepAliveRequests = 0
  let closes = 0
  let goaways = 0
  for (const client of clients) client.on('connect', () => { keepAliveConnections++ })
  const h2 = new Http2Client(port, ca, () => { goaways++ })
  const state = { running: true }
  let ok = 0
  const errors: string[] = []
  const waiters: Array<{ at: number, resolve: () => void }> = []
  const record = (target: LoadTarget, status: number | Error): void => {
    if (status === target.status) {
      ok++
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (ok >= waiters[i]!.at) waiters.splice(i, 1)[0]!.resolve()
      }
    } else errors.push(`${target.path}: ${status instanceof Error ? `${(status as NodeJS.ErrnoException).code ?? ''} ${status.message}` : `status ${status}`}`)
  }
  const loop = (send: (target: LoadTarget, index: number) => Promise<number>) => async (_: unknown, index: number): Promise<void> => {
    for (let i = index; state.running; i++) {
      const target = targets[i % targets.length]!
      try {
        record(target, await send(target, index))
      } catch (err) {
        record(target, err as Error)
      }
    }
  }
  const keepAliveLoop = loop(async (target, index) => {
    const res = await clients[index]!.request({ path: target.path, method: 'GET', headers: target.headers ?? {} })
    await res.body.arrayBuffer()
    keepAliveRequests++
    if (res.headers.connection === 'close') closes++
    return res.statusCode
  })
  const freshLoop = loop(async (target) => (await getFresh(ca, port, target.path, target.headers, options.servername)).status)
  const http2Loop = loop((target) => h2.get(target.path, target.headers))
  const loops = [
    ...Array.from({ length: options.keepAlive }, keepAliveLoop),
    ...Array.from({ length: options.fresh }, freshLoop),
    ...Array.from({ length: options.http2 ?? 0 }, http2Loop)
  ]
  let stopped: Promise<LoadResult> | undefined
  return {
    answers: (count) => new Promise((resolve) => waiters.push({ at: ok + count, resolve })),
    failed: () => errors.length,
    stop () {
      state.running = false
      stopped ??= Promise.all(loops)
        .then(() => { h2.close() })
        .then(() => Promise.all(clients.map((client) => client.close())))
        .then(() => ({ ok, failed: errors.length, errors, keepAliveRequests, keepAliveConnections, closes, goaways }))
      return stopped
    }
  }
}
