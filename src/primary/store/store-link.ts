import type { StoreConfig } from '../../config/store-options.js'
import type { Logger } from '../../shared/logger.js'
import type { SharedTlsState } from '../cluster-tls-state.js'
import type { ExtraStatus } from '../cluster-status.js'
import type { WorkerPool } from '../worker-pool.js'
import { FleetSessions } from './fleet-sessions.js'
import { FleetTicketKeys } from './fleet-ticket-keys.js'
import { RedisStore } from './redis-store.js'
import type { SharedStore } from './shared-store.js'

export interface StoreLinkOptions {
  readonly config: StoreConfig
  readonly log: Logger
  readonly tls: SharedTlsState
  readonly ticketRotateMs: number
  readonly sessionTimeoutMs: number
  readonly pool: WorkerPool
}

/**
 * --store wired to this host: the fleet's ticket keys replace the host's own
 * (unless --ticket-key-file pins them), and TLS 1.2 sessions go to the store
 * behind the primary's cache. ACME takes `store` from here (acme-link.ts).
 */
export class StoreLink {
  readonly #redis: RedisStore
  readonly #tickets: FleetTicketKeys | undefined
  readonly #sessions: FleetSessions | undefined
  readonly #pool: WorkerPool

  constructor (options: StoreLinkOptions) {
    const { log, tls, pool } = options
    this.#pool = pool
    this.#redis = new RedisStore(options.config, log)
    this.#tickets = tls.ticketKeyFile
      ? undefined
      : new FleetTicketKeys(this.#redis, options.ticketRotateMs, log, (keys) => {
        tls.useFleetKeys(keys)
        pool.broadcast({ act: 'ticket-keys', keys })
      })
    this.#sessions = tls.sessionCacheEnabled ? new FleetSessions(this.#redis, tls.sessionCacheSize, options.sessionTimeoutMs, log) : undefined
  }

  get store (): SharedStore {
    return this.#redis
  }

  /** Before the workers start: connects (waiting a bounded time) and takes the fleet's ticket keys if the store answers. */
  async start (): Promise<void> {
    await this.#redis.connect()
    this.#sessions?.start((id) => this.#pool.broadcast({ act: 'session-ids', ids: [id] }))
    await this.#tickets?.start()
  }

  stop (): void {
    this.#tickets?.stop()
    this.#redis.close().catch(() => {})
  }

  /** Session IDs other hosts made, for a starting worker. */
  get remoteSessionIds (): string[] {
    return this.#sessions?.remoteIds ?? []
  }

  /** Resolves once the other hosts have been told (never rejects). */
  sessionStored (id: string, data: string): Promise<void> | undefined {
    return this.#sessions?.stored(id, data)
  }

  sessionFetch (id: string): Promise<string | null> {
    return this.#sessions?.fetch(id) ?? Promise.resolve(null)
  }

  get status (): ExtraStatus {
    return { registry: this.#redis.registry, health: () => ({ store: { up: this.#redis.up } }) }
  }
}
