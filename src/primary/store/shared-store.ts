/**
 * What seraph hosts share when `--store` is set (see redis-store.ts). Every
 * value is sealed (sealed-value.ts): encrypted with --store-key-file and bound
 * to its key, so the store's operator reads nothing and cannot swap values.
 * Every call is bounded in time and rejects when the store is unreachable:
 * callers keep serving with what they have and retry later.
 */
export interface SharedStore {
  /** This host's name in the fleet (random per start), carried by the messages it publishes. */
  readonly hostId: string
  /** True while the store answers. */
  readonly up: boolean
  /** The value of `key`, or undefined; rejects after `timeoutMs` (default {@link storeCommandTimeoutMs}). */
  get (key: string, timeoutMs?: number): Promise<Buffer | undefined>
  /** Stores `value` under `key`, expiring after `ttlMs` when given. */
  set (key: string, value: Buffer | string, ttlMs?: number): Promise<void>
  delete (key: string): Promise<void>
  /** A lease on `name` for `ttlMs`, or undefined while another host holds it. */
  lock (name: string, ttlMs: number): Promise<Lease | undefined>
  /** Sends `message` to every host's subscribers of `channel`, this host's included. */
  publish (channel: string, message: string): Promise<void>
  /** Messages of `channel`; the subscription survives reconnects. */
  subscribe (channel: string, listener: (message: string) => void): void
  /** Called with the new state each time the store goes up or down. */
  onStateChange (listener: (up: boolean) => void): void
  close (): Promise<void>
}

/**
 * A single-instance lock with expiry (the Redlock pattern on one Redis): a
 * holder that crashes loses it when `ttlMs` runs out; a holder that outlives
 * it must `extend` it in time.
 */
export interface Lease {
  readonly name: string
  /** Pushes the expiry to `ttlMs` from now; false when the lease was already lost. */
  extend (ttlMs: number): Promise<boolean>
  /** Gives the lease up, only if this host still holds it. Never rejects. */
  release (): Promise<void>
}

/** The longest any store command waits, except where a caller asks for less. */
export const storeCommandTimeoutMs = 2_000
