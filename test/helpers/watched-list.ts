/**
 * A list that tests wait on: `push` wakes every waiter, `waitFor` resolves
 * with the first item (already there or still to come) that passes `test`.
 */
export class WatchedList<T> {
  readonly items: T[] = []
  readonly #waiters = new Set<() => void>()

  push (item: T): void {
    this.items.push(item)
    for (const waiter of this.#waiters) waiter()
  }

  waitFor (test: (item: T) => boolean): Promise<T> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        const found = this.items.find(test)
        if (found === undefined) return false
        this.#waiters.delete(waiter)
        resolve(found)
        return true
      }
      const waiter = (): void => { check() }
      if (!check()) this.#waiters.add(waiter)
    })
  }
}
