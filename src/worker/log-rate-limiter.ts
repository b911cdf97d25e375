/**
 * Lets through at most `limit` log lines per key in each `windowMs`, and
 * reports how many it held back, so a flood of bad handshakes can neither
 * flood the log nor slow the worker down with writes.
 */
export class LogRateLimiter {
  readonly #limit: number
  readonly #windowMs: number
  readonly #onSuppressed: (key: string, count: number) => void
  readonly #counts = new Map<string, { logged: number, suppressed: number }>()
  #timer: NodeJS.Timeout | undefined

  constructor (limit: number, windowMs: number, onSuppressed: (key: string, count: number) => void) {
    this.#limit = limit
    this.#windowMs = windowMs
    this.#onSuppressed = onSuppressed
  }

  /** True when a line for `key` may be written now. */
  allow (key: string): boolean {
    let entry = this.#counts.get(key)
    if (entry === undefined) {
      entry = { logged: 0, suppressed: 0 }
      this.#counts.set(key, entry)
      this.#timer ??= setTimeout(() => this.flush(), this.#windowMs).unref()
    }
    if (entry.logged < this.#limit) {
      entry.logged++
      return true
    }
    entry.suppressed++
    return false
  }

  /** Ends the window: reports what was held back and starts counting afresh. */
  flush (): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    for (const [key, entry] of this.#counts) {
      if (entry.suppressed > 0) this.#onSuppressed(key, entry.suppressed)
    }
    this.#counts.clear()
  }
}
