import type { SharedTlsState } from './cluster-tls-state.js'
import type { StoreLink } from './store/store-link.js'
import type { WorkerPool, WorkerState } from './worker-pool.js'

/**
 * TLS 1.2 session IDs between workers: a new session goes into the primary's
 * cache (and with --store, to the fleet) and its ID to every worker, which
 * only ever asks about IDs it knows exist (src/worker/tls/session-client.ts).
 */
export class SessionSharing {
  readonly #shared: SharedTlsState
  readonly #store: StoreLink | undefined
  readonly #pool: WorkerPool

  constructor (shared: SharedTlsState, store: StoreLink | undefined, pool: WorkerPool) {
    this.#shared = shared
    this.#store = store
    this.#pool = pool
  }

  /** A worker made a session (ID and data base64). */
  stored (id: string, data: string): void {
    this.#shared.storeSession(id, data)
    this.#store?.sessionStored(id, data)
    this.#pool.broadcast({ act: 'session-ids', ids: [id] })
  }

  /** Answers a worker's lookup: the primary's cache first, then the fleet's (bounded: store/fleet-sessions.ts). */
  async answer (state: WorkerState, requestId: number, id: string): Promise<void> {
    const data = this.#shared.fetchSession(id) ?? await this.#store?.sessionFetch(id) ?? null
    this.#pool.send(state, { act: 'session', requestId, data })
  }

  /** Every ID a starting worker may ask about. */
  sendKnownIds (state: WorkerState): void {
    const ids = [...this.#shared.sessionIds(), ...this.#store?.remoteSessionIds ?? []]
    if (ids.length > 0) this.#pool.send(state, { act: 'session-ids', ids })
  }
}
