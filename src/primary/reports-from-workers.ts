import type { PrimaryMessage, WorkerReport } from '../shared/messages.js'
import { PendingReplies } from '../shared/pending-replies.js'

/** How long the admin listener waits for a worker's counters. */
const reportTimeoutMs = 2_000

/** Asks workers for their counters over IPC and matches the answers to the questions. */
export class WorkerReports {
  readonly #replies = new PendingReplies<WorkerReport>(reportTimeoutMs)

  /** Resolves with the worker's report (its metrics too if `metrics`), or `undefined` if it does not answer in time. */
  request (send: (message: PrimaryMessage) => void, metrics: boolean): Promise<WorkerReport | undefined> {
    return this.#replies.ask((requestId) => send({ act: 'report', requestId, metrics }))
  }

  received (requestId: number, report: WorkerReport | undefined): void {
    this.#replies.settle(requestId, report)
  }
}
