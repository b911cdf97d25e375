/**
 * Runs an async task one at a time. A request made while it runs is not
 * lost and not run in parallel: the task runs once more afterwards, however
 * many requests came meanwhile.
 */
export class SerialTask {
  readonly #task: () => Promise<void>
  #running: Promise<void> | undefined
  #again = false

  constructor (task: () => Promise<void>) {
    this.#task = task
  }

  get running (): boolean {
    return this.#running !== undefined
  }

  /** Starts the task, or queues one more run; resolves when the current run ends. */
  run (): Promise<void> {
    if (this.#running !== undefined) {
      this.#again = true
      return this.#running
    }
    this.#running = this.#task().finally(() => {
      this.#running = undefined
      if (this.#again) {
        this.#again = false
        this.run().catch(() => {})
      }
    })
    return this.#running
  }
}
