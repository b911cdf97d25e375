import { LRUCache } from 'lru-cache'
import type { Logger } from '../../shared/logger.js'
import type { SharedStore } from './shared-store.js'

const channel = 'sessions'
/**
 * How long a TLS 1.2 resumption waits for the store: below the worker's own
 * 200 ms bound (src/worker/tls/session-client.ts), after which the client
 * simply makes a full handshake.
 */
export const sessionLookupMs = 100

/**
 * TLS 1.2 session IDs across the fleet: the primary's own cache stays in
 * front; every session is also written to the store with its timeout, and its
 * ID announced, so that the workers of every host know they may ask for it.
 * A lookup that misses the local cache reads the store.
 */
export class FleetSessions {
  readonly #store: SharedStore
  readonly #timeoutMs: number
  readonly #log: Logger
  /** IDs other hosts announced: replacement workers start with them. */
  readonly #remoteIds: LRUCache<string, true>

  constructor (store: SharedStore, capacity: number, timeoutMs: number, log: Logger) {
    this.#store = store
    this.#timeoutMs = timeoutMs
    this.#log = log
    this.#remoteIds = new LRUCache({ max: Math.max(1, capacity), ttl: timeoutMs })
  }

  /** `onRemoteId` tells every worker of this host about an ID another host made. */
  start (onRemoteId: (id: string) => void): void {
    this.#store.subscribe(channel, (message) => {
      const [host, id] = message.split(' ')
      if (host === this.#store.hostId || id === undefined || id === '') return
      this.#remoteIds.set(id, true)
      onRemoteId(id)
    })
  }

  get remoteIds (): string[] {
    return [...this.#remoteIds.keys()]
  }

  /**
   * A new session on this host (ID and data base64). Resolves once it has
   * been announced, or could not be (never rejects); the caller bounds how
   * long it waits.
   */
  stored (id: string, data: string): Promise<void> {
    if (!this.#store.up) return Promise.resolve()
    return this.#store.set(`session:${id}`, Buffer.from(data, 'base64'), this.#timeoutMs)
      .then(() => this.#store.publish(channel, `${this.#store.hostId} ${id}`))
      .catch((err: Error) => this.#log.debug({ problem: err.message }, 'TLS session not shared: store unavailable'))
  }

  /** The session's data (base64) from the store, or null when it has none or does not answer in {@link sessionLookupMs}. */
  async fetch (id: string): Promise<string | null> {
    try {
      return (await this.#store.get(`session:${id}`, sessionLookupMs))?.toString('base64') ?? null
    } catch {
      return null
    }
  }
}
