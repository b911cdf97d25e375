import type { Worker } from 'node:cluster'
import type { WorkerReport } from '../shared/messages.js'
import { PendingReplies } from '../shared/pending-replies.js'

/** How long the admin listener waits for a worker's counters. */
const reportTimeoutMs = 2_000

/** Asks workers for their counters over IPC and matches the answers to the questions. */
export class WorkerReports {
  readonly #replies = new PendingReplies<WorkerReport>(reportTimeoutMs)

  /** Resolves with the worker's report, or `undefined` if it does not answer in time. */
  request (worker: Worker): Promise<WorkerReport | undefined> {
    if (!worker.isConnected()) return Promise.resolve(undefined)
    return this.#replies.ask((requestId) => worker.send({ act: 'report', requestId }))
  }

  received (requestId: number, report: WorkerReport | undefined): void {
    this.#replies.settle(requestId, report)
  }
}
