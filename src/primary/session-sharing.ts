import type { SharedTlsState } from './cluster-tls-state.js'
import type { StoreLink } from './store/store-link.js'
import type { WorkerPool, WorkerState } from './worker-pool.js'

/**
 * How long a new TLS 1.2 session's handshake may wait for the store to
 * announce it to the other hosts (a slow or absent Redis costs a handshake at
 * most this; the announcement itself still goes on).
 */
export const fleetAnnounceMs = 50

function withDeadline (promise: Promise<unknown>, ms: number): Promise<unknown> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    promise.then(resolve, resolve).finally(() => clearTimeout(timer))
  })
}

/**
 * TLS 1.2 session IDs between workers: a new session goes into the primary's
 * cache (and with --store, to the fleet) and its ID to every worker, which
 * only ever asks about IDs it knows exist (src/worker/tls/session-client.ts).
 */
export class SessionSharing {
  readonly #shared: SharedTlsState
  /** The fleet's link, once --store has loaded it (primary.ts). */
  readonly #store: () => StoreLink | undefined
  readonly #pool: WorkerPool

  constructor (shared: SharedTlsState, store: () => StoreLink | undefined, pool: WorkerPool) {
    this.#shared = shared
    this.#store = store
    this.#pool = pool
  }

  /**
   * A worker made a session (ID and data base64). Its handshake waits for the
   * answer, sent once every worker has been told the ID (IPC is ordered, so
   * they know it before the client can come back) and the fleet has been, or
   * {@link fleetAnnounceMs} have passed.
   */
  async stored (state: WorkerState, requestId: number, id: string, data: string): Promise<void> {
    this.#shared.storeSession(id, data)
    this.#pool.broadcast({ act: 'session-ids', ids: [id] })
    const announced = this.#store()?.sessionStored(id, data)
    if (announced !== undefined) await withDeadline(announced, fleetAnnounceMs)
    this.#pool.send(state, { act: 'session-stored', requestId })
  }

  /** Answers a worker's lookup: the primary's cache first, then the fleet's (bounded: store/fleet-sessions.ts). */
  async answer (state: WorkerState, requestId: number, id: string): Promise<void> {
    const data = this.#shared.fetchSession(id) ?? await this.#store()?.sessionFetch(id) ?? null
    this.#pool.send(state, { act: 'session', requestId, data })
  }

  /** Every ID a starting worker may ask about. */
  sendKnownIds (state: WorkerState): void {
    const ids = [...this.#shared.sessionIds(), ...this.#store()?.remoteSessionIds ?? []]
    if (ids.length > 0) this.#pool.send(state, { act: 'session-ids', ids })
  }
}
