import { LRUCache } from 'lru-cache'

/**
 * The TLS session cache shared by every worker, held by the primary — like
 * nginx's `ssl_session_cache shared:`. It resumes TLS 1.2 clients that use
 * session IDs instead of tickets on whichever worker they reach next; Node's
 * per-process cache cannot. Bounded in entries and in lifetime.
 */
export class SessionCache {
  readonly #cache: LRUCache<string, string>

  constructor (maxEntries: number, lifetimeMs: number) {
    this.#cache = new LRUCache({ max: maxEntries, ttl: lifetimeMs })
  }

  get size (): number {
    return this.#cache.size
  }

  /** Keys and values are base64: they cross the IPC channel as JSON. */
  store (id: string, data: string): void {
    this.#cache.set(id, data)
  }

  /** Every cached session ID, most recently used first. */
  ids (): string[] {
    return [...this.#cache.keys()]
  }

  fetch (id: string): string | undefined {
    return this.#cache.get(id)
  }
}
