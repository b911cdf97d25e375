import type { AcmeChallenge, PrimaryMessage } from '../../shared/messages.js'

/** Longest wait for the workers to confirm a challenge set; after it the CA is asked anyway. */
const ackTimeoutMs = 5_000

export interface ChallengeTarget {
  readonly id: number
  send (message: PrimaryMessage): void
}

/**
 * Sends each challenge set to the started workers and resolves once every one
 * of them confirmed it ('acme-challenges-applied'), exited, or the timeout
 * passed. Workers started later get the set in their start settings.
 */
export class ChallengeAcks {
  readonly #waiting = new Map<number, { pending: Set<number>, done: () => void }>()

  publish (version: number, challenges: readonly AcmeChallenge[], targets: readonly ChallengeTarget[]): Promise<void> {
    return new Promise((resolve) => {
      const pending = new Set(targets.map((target) => target.id))
      const timer = setTimeout(() => done(), ackTimeoutMs)
      const done = (): void => {
        clearTimeout(timer)
        this.#waiting.delete(version)
        resolve()
      }
      this.#waiting.set(version, { pending, done })
      for (const target of targets) target.send({ act: 'acme-challenges', version, challenges })
      if (pending.size === 0) done()
    })
  }

  /** A worker applied `version` (and so every earlier one). */
  applied (workerId: number, version: number): void {
    for (const [waited, entry] of this.#waiting) {
      if (waited > version) continue
      entry.pending.delete(workerId)
      if (entry.pending.size === 0) entry.done()
    }
  }

  /** A worker exited: nothing more to wait for from it. */
  gone (workerId: number): void {
    this.applied(workerId, Number.MAX_SAFE_INTEGER)
  }
}
