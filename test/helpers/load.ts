import { Agent, request } from 'undici'
import { Http2Client } from './http2-load.js'
import { getFresh } from './https-client.js'

export interface LoadResult {
  readonly ok: number
  readonly failed: number
  readonly errors: string[]
}

export interface Load {
  /** Resolves once `count` more requests have been answered from now on. */
  answers (count: number): Promise<void>
  /** Stops the loops; safe to call more than once. */
  stop (): Promise<LoadResult>
}

/**
 * Continuous load until stopped: `keepAlive` loops sharing a keep-alive pool,
 * `fresh` loops that open a new TLS connection per request, and `http2`
 * loops multiplexed on one HTTP/2 session. Every error
 * and every status other than 200 is a failure. A request that hangs fails on
 * undici's timeouts.
 */
export function startLoad (ca: Buffer, port: number, options: { keepAlive: number, fresh: number, path?: string, http2?: number }): Load {
  const path = options.path ?? '/healthz'
  const agent = new Agent({ connect: { ca }, connections: options.keepAlive, headersTimeout: 10_000, bodyTimeout: 10_000 })
  const h2 = new Http2Client(port, ca)
  const state = { running: true }
  let ok = 0
  const errors: string[] = []
  const waiters: Array<{ at: number, resolve: () => void }> = []
  const record = (status: number | Error): void => {
    if (status === 200) {
      ok++
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (ok >= waiters[i]!.at) waiters.splice(i, 1)[0]!.resolve()
      }
    } else errors.push(status instanceof Error ? `${(status as NodeJS.ErrnoException).code ?? ''} ${status.message}` : `status ${status}`)
  }
  const keepAliveLoop = async (): Promise<void> => {
    while (state.running) {
      try {
        const res = await request(`https://127.0.0.1:${port}${path}`, { dispatcher: agent })
        await res.body.arrayBuffer()
        record(res.statusCode)
      } catch (err) {
        record(err as Error)
      }
    }
  }
  const freshLoop = async (): Promise<void> => {
    while (state.running) {
      try {
        record((await getFresh(ca, port, path)).status)
      } catch (err) {
        record(err as Error)
      }
    }
  }
  const http2Loop = async (): Promise<void> => {
    while (state.running) {
      try {
        record(await h2.get(path))
      } catch (err) {
        record(err as Error)
      }
    }
  }
  const loops = [
    ...Array.from({ length: options.keepAlive }, keepAliveLoop),
    ...Array.from({ length: options.fresh }, freshLoop),
    ...Array.from({ length: options.http2 ?? 0 }, http2Loop)
  ]
  let stopped: Promise<LoadResult> | undefined
  return {
    answers: (count) => new Promise((resolve) => waiters.push({ at: ok + count, resolve })),
    stop () {
      state.running = false
      stopped ??= Promise.all(loops)
        .then(() => { h2.close() })
        .then(() => agent.close())
        .then(() => ({ ok, failed: errors.length, errors }))
      return stopped
    }
  }
}
