/**
 * Matches IPC answers to the questions that asked for them, by request id,
 * with a deadline: an answer that never comes resolves as `undefined`.
 */
export class PendingReplies<T> {
  readonly #timeoutMs: number
  readonly #pending = new Map<number, { resolve: (value: T | undefined) => void, timer: NodeJS.Timeout }>()
  #nextId = 1

  constructor (timeoutMs: number) {
    this.#timeoutMs = timeoutMs
  }

  /** Calls `send` with a fresh request id and waits for {@link settle} with that id. */
  ask (send: (requestId: number) => void): Promise<T | undefined> {
    const requestId = this.#nextId++
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(requestId, undefined), this.#timeoutMs)
      timer.unref()
      this.#pending.set(requestId, { resolve, timer })
      send(requestId)
    })
  }

  settle (requestId: number, value: T | undefined): void {
    const pending = this.#pending.get(requestId)
    if (pending === undefined) return
    this.#pending.delete(requestId)
    clearTimeout(pending.timer)
    pending.resolve(value)
  }
}
