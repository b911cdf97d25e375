import { LRUCache } from 'lru-cache'
import type { Server as TlsServer } from 'node:tls'
import type { WorkerMessage } from '../../shared/messages.js'
import { PendingReplies } from '../../shared/pending-replies.js'
import { sessionProtocolVersion, tls13 } from './tls-session-data.js'

/** A session lookup that takes longer than this resumes nothing: the client does a full handshake. */
const sessionLookupTimeoutMs = 200
/**
 * How long a handshake that made a TLS 1.2 session waits for the primary to
 * have told every worker about it (above the primary's 50 ms bound on the
 * fleet announcement: src/primary/session-sharing.ts).
 */
const sessionStoreTimeoutMs = 150

/**
 * The worker's side of the TLS 1.2 session cache the primary holds, so that
 * any worker can resume a session another one made (clients without tickets
 * resume by session ID). New sessions go to the primary; a resumption asks it
 * for the data and waits at most {@link sessionLookupTimeoutMs}.
 *
 * A handshake that made a TLS 1.2 session finishes only once the primary has
 * announced its ID to every worker (bounded by {@link sessionStoreTimeoutMs}):
 * otherwise the client's very next connection can reach a worker that has not
 * heard of it yet, and that worker would not ask.
 */
export class SessionClient {
  readonly #send: (message: WorkerMessage) => void
  readonly #lookups = new PendingReplies<string | null>(sessionLookupTimeoutMs)
  readonly #stores = new PendingReplies<true>(sessionStoreTimeoutMs)
  // Every TLS 1.3 ClientHello carries a random legacy session ID, so asking the
  // primary about each ID would cost an IPC round trip per handshake for
  // nothing. The primary tells every worker which IDs it holds; only those are
  // looked up.
  #knownIds: LRUCache<string, true> | undefined

  constructor (send: (message: WorkerMessage) => void) {
    this.#send = send
  }

  /**
   * Called on 'start', before anything is awaited: the primary sends the IDs
   * it holds right after 'start', while the server is still being built.
   * `capacity` bounds them (the primary's cache size).
   */
  start (capacity: number): void {
    // Bounded by a count through maxSize, not `max`: lru-cache would
    // allocate its arrays for `capacity` IDs up front, held or not.
    this.#knownIds ??= new LRUCache<string, true>({ maxSize: Math.max(1, capacity), sizeCalculation: () => 1 })
  }

  /** Shares the sessions of `server` through the primary. */
  attach (server: TlsServer): void {
    server.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
      // TLS 1.3 resumes by ticket only: its sessions are not shared.
      if (sessionProtocolVersion(data) === tls13) return done()
      this.#stores.ask((requestId) => this.#send({ act: 'session-store', requestId, id: id.toString('base64'), data: data.toString('base64') }))
        .then(() => done(), () => done())
    })
    server.on('resumeSession', (id: Buffer, done: (err: Error | null, data: Buffer | null) => void) => {
      const key = id.toString('base64')
      if (this.#knownIds?.has(key) !== true) return done(null, null)
      this.#lookups.ask((requestId) => this.#send({ act: 'session-get', requestId, id: key }))
        .then((data) => done(null, data === null || data === undefined ? null : Buffer.from(data, 'base64')), () => done(null, null))
    })
  }

  /**
   * IDs the primary holds ('session-ids'). Any that come before 'start' are
   * not kept: the primary sends every ID it holds right after 'start'.
   */
  remember (ids: readonly string[]): void {
    for (const id of ids) this.#knownIds?.set(id, true)
  }

  /** The primary's answer to a 'session-store'. */
  stored (requestId: number): void {
    this.#stores.settle(requestId, true)
  }

  /** The primary's answer to a 'session-get'. */
  settle (requestId: number, data: string | null): void {
    this.#lookups.settle(requestId, data)
  }
}
