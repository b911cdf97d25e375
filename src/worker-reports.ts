import type { Worker } from 'node:cluster'
import type { WorkerReport } from './messages.js'

/** How long the admin listener waits for a worker's counters. */
const reportTimeoutMs = 2_000

interface Pending {
  readonly resolve: (report: WorkerReport | undefined) => void
  readonly timer: NodeJS.Timeout
}

/** Asks workers for their counters over IPC and matches the answers to the questions. */
export class WorkerReports {
  readonly #pending = new Map<number, Pending>()
  #nextId = 1

  /** Resolves with the worker's report, or `undefined` if it does not answer in time. */
  request (worker: Worker): Promise<WorkerReport | undefined> {
    if (!worker.isConnected()) return Promise.resolve(undefined)
    const requestId = this.#nextId++
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.received(requestId, undefined), reportTimeoutMs)
      this.#pending.set(requestId, { resolve, timer })
      worker.send({ act: 'report', requestId })
    })
  }

  received (requestId: number, report: WorkerReport | undefined): void {
    const pending = this.#pending.get(requestId)
    if (pending === undefined) return
    this.#pending.delete(requestId)
    clearTimeout(pending.timer)
    pending.resolve(report)
  }
}
