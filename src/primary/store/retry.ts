/** Back-off for work that waits on the store: 1 s doubling to 60 s, reset by a success. */
export class Retry {
  #failures = 0

  /** The delay before the next attempt. */
  failed (): number {
    this.#failures++
    return Math.min(1_000 * 2 ** (this.#failures - 1), 60_000)
  }

  succeeded (): void {
    this.#failures = 0
  }
}
