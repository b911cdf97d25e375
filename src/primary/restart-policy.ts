/**
 * When to replace a dead worker, and when to give up. A worker that dies after
 * a healthy run is replaced at once; repeated quick deaths back off
 * exponentially up to a cap; several workers in a row dying before they ever
 * listen is a crash loop, which no restart will fix.
 */
export interface RestartPolicyOptions {
  /** A worker that lived at least this long before dying is replaced at once. */
  readonly stableAfterMs: number
  readonly baseDelayMs: number
  readonly maxDelayMs: number
  /** Consecutive start-up failures that end the server. */
  readonly maxStartFailures: number
}

export const defaultRestartPolicy: RestartPolicyOptions = {
  stableAfterMs: 5_000,
  baseDelayMs: 250,
  maxDelayMs: 15_000,
  maxStartFailures: 5
}

export type RestartDecision =
  | { readonly action: 'restart', readonly delayMs: number }
  | { readonly action: 'give-up', readonly startFailures: number }

export class RestartPolicy {
  readonly #options: RestartPolicyOptions
  #quickDeaths = 0
  #startFailures = 0

  constructor (options: RestartPolicyOptions = defaultRestartPolicy) {
    this.#options = options
  }

  /** A worker reached 'listening': start-up works again. */
  workerListening (): void {
    this.#startFailures = 0
  }

  /** A worker died unexpectedly after `livedMs`; `listened` tells whether it ever served. */
  workerDied (livedMs: number, listened: boolean): RestartDecision {
    if (!listened) {
      this.#startFailures++
      if (this.#startFailures >= this.#options.maxStartFailures) return { action: 'give-up', startFailures: this.#startFailures }
    }
    if (listened && livedMs >= this.#options.stableAfterMs) this.#quickDeaths = 0
    else this.#quickDeaths++
    const delayMs = this.#quickDeaths <= 1
      ? 0
      : Math.min(this.#options.baseDelayMs * 2 ** (this.#quickDeaths - 2), this.#options.maxDelayMs)
    return { action: 'restart', delayMs }
  }
}
