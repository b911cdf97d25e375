import type { AcmeChallenge } from '../../shared/messages.js'

/**
 * The pending challenges, held by the primary. Every change is sent to every
 * worker as the whole set; `add` resolves once the workers confirm they
 * answer it, so the CA is told to validate only when any worker can answer.
 */
export class ChallengeRegistry {
  readonly #challenges = new Map<string, AcmeChallenge>()
  readonly #publish: (version: number, challenges: readonly AcmeChallenge[]) => Promise<void>
  #version = 0

  /** `publish` sends the set to the workers and resolves when they applied it (or gave up waiting). */
  constructor (publish: (version: number, challenges: readonly AcmeChallenge[]) => Promise<void>) {
    this.#publish = publish
  }

  get all (): AcmeChallenge[] {
    return [...this.#challenges.values()]
  }

  get version (): number {
    return this.#version
  }

  add (id: string, challenge: AcmeChallenge): Promise<void> {
    this.#challenges.set(id, challenge)
    return this.#publish(++this.#version, this.all)
  }

  remove (id: string): Promise<void> {
    if (!this.#challenges.delete(id)) return Promise.resolve()
    return this.#publish(++this.#version, this.all)
  }
}
