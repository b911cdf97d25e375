import type { WorkerState } from './worker-pool.js'
import type { Config } from '../config/config.js'
import { isSeraphError } from '../shared/errors.js'
import type { Logger } from '../shared/logger.js'

/** What a rolling reload needs from the primary. */
export interface ReloadHost {
  readonly log: Logger
  /** Reads and checks the new configuration, certificate and key files; throws when any is invalid. */
  reread (): Config
  /** Makes `next` current; returns the new generation. */
  apply (next: Config): number
  workers (): WorkerState[]
  /** Forks a replacement for `previous` (or an extra worker). */
  fork (previous: WorkerState | undefined): WorkerState
  /** True once the worker listens, false if it exits first. */
  listening (state: WorkerState): Promise<boolean>
  drain (state: WorkerState): void
  stopping (): boolean
  result (result: 'done' | 'refused' | 'failed'): void
}

/**
 * Replaces the workers one at a time: each old worker is told to drain only
 * once its replacement listens. Anything invalid is refused before a worker
 * is touched; a replacement that fails ends the reload, and the old workers
 * left keep serving.
 */
export async function rollingReload (host: ReloadHost): Promise<void> {
  const { log } = host
  let next: Config
  try {
    next = host.reread()
  } catch (err) {
    host.result('refused')
    log.error({ code: isSeraphError(err) ? err.code : undefined }, `reload refused, the running workers keep serving: ${(err as Error).message}`)
    return
  }
  const generation = host.apply(next)
  log.info({ generation, workers: next.workers }, 'reload: replacing workers one at a time')
  const old = host.workers().filter((s) => s.generation < generation && !s.draining)
  for (let i = 0; i < Math.max(old.length, next.workers); i++) {
    if (host.stopping()) return
    const previous = old[i]
    if (i < next.workers) {
      const fresh = host.fork(previous)
      if (!await host.listening(fresh)) {
        host.result('failed')
        log.error({ generation, worker: fresh.worker.id }, 'reload failed: a replacement did not start; the running workers keep serving')
        return
      }
    }
    if (previous !== undefined) host.drain(previous)
  }
  host.result('done')
  log.info({ generation, workers: host.workers().filter((s) => !s.draining).map((s) => s.worker.process.pid) }, 'reload complete')
}
