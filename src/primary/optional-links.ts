import type { Config } from '../config/config.js'
import type { Logger } from '../shared/logger.js'
import type { AcmeLink } from './acme/acme-link.js'
import type { SharedTlsState } from './cluster-tls-state.js'
import type { StoreLink } from './store/store-link.js'
import type { WorkerPool } from './worker-pool.js'

export interface OptionalLinks {
  readonly store: StoreLink | undefined
  readonly acme: AcmeLink | undefined
}

/**
 * The primary's two optional capabilities, each imported only when its flag
 * is given: `--store` (ioredis, ~13 MiB of the primary's RSS) and `--domain`
 * (acme-client and what it loads, ~16 MiB). test/lazy-modules.test.ts keeps
 * them out of the static imports.
 */
export async function linkOptional (config: Config, log: Logger, tls: SharedTlsState, pool: WorkerPool, manualNames: readonly string[]): Promise<OptionalLinks> {
  let store: StoreLink | undefined
  let acme: AcmeLink | undefined
  if (config.store !== undefined) {
    const { StoreLink } = await import('./store/store-link.js')
    store = new StoreLink({ config: config.store, log, tls, ticketRotateMs: config.tls.ticketRotateMs, sessionTimeoutMs: config.tls.sessionTimeoutMs, pool })
  }
  if (config.acme !== undefined) {
    const { AcmeLink } = await import('./acme/acme-link.js')
    acme = new AcmeLink(config.acme, log, manualNames, pool, store?.store)
  } else if (store !== undefined) {
    // Subscribed now, heard once the store connects.
    const { warnOfFleetAcme } = await import('./acme/fleet-challenges.js')
    warnOfFleetAcme(store.store, log)
  }
  return { store, acme }
}
