import type { AcmeChallenge } from '../../shared/messages.js'

/**
 * The pending challenges, held by the primary: this host's own (`add`, by
 * "<name> <token>") and, with --store, those other hosts of the fleet are
 * answering for their orders (`setRemote`, by name). Every change is sent to
 * every worker as the whole set and resolves once the workers confirm they
 * answer it, so the CA is told to validate only when any worker can answer.
 */
export class ChallengeRegistry {
  readonly #challenges = new Map<string, AcmeChallenge>()
  readonly #remote = new Map<string, readonly AcmeChallenge[]>()
  readonly #publish: (version: number, challenges: readonly AcmeChallenge[]) => Promise<void>
  #version = 0

  /** `publish` sends the set to the workers and resolves when they applied it (or gave up waiting). */
  constructor (publish: (version: number, challenges: readonly AcmeChallenge[]) => Promise<void>) {
    this.#publish = publish
  }

  get all (): AcmeChallenge[] {
    return [...this.#challenges.values(), ...[...this.#remote.values()].flat()]
  }

  get version (): number {
    return this.#version
  }

  /** This host's own challenges for `name`. */
  localFor (name: string): AcmeChallenge[] {
    return [...this.#challenges].filter(([id]) => id.startsWith(`${name} `)).map(([, challenge]) => challenge)
  }

  add (id: string, challenge: AcmeChallenge): Promise<void> {
    this.#challenges.set(id, challenge)
    return this.#publish(++this.#version, this.all)
  }

  remove (id: string): Promise<void> {
    if (!this.#challenges.delete(id)) return Promise.resolve()
    return this.#publish(++this.#version, this.all)
  }

  /** Another host's challenges for `name` replace the previous ones (none: removed). */
  setRemote (name: string, challenges: readonly AcmeChallenge[]): Promise<void> {
    if (challenges.length > 0) this.#remote.set(name, challenges)
    else if (!this.#remote.delete(name)) return Promise.resolve()
    return this.#publish(++this.#version, this.all)
  }
}
