import { SeraphError } from '../../shared/errors.js'
import type { Logger } from '../../shared/logger.js'
import { withoutCredentials } from '../../shared/url-credentials.js'
import { caGet } from './ca-http.js'

/** How long the start may wait for the CA's directory: seraph prints `ready` without the CA otherwise. */
const startCheckMs = 5_000

/** The profile names a directory lists in `meta.profiles` (draft-ietf-acme-profiles: name → description). */
export function offeredProfiles (directory: unknown): string[] {
  const meta = (typeof directory === 'object' && directory !== null ? directory as { meta?: { profiles?: unknown } } : {}).meta
  const profiles = meta?.profiles
  return typeof profiles === 'object' && profiles !== null ? Object.keys(profiles) : []
}

/**
 * --acme-profile (draft-ietf-acme-profiles; Let's Encrypt's `classic`,
 * `tlsserver`, `shortlived`): a name the CA's directory lists, sent as
 * `profile` in every new order (acme-order.ts; acme-client 5.4 has no field
 * for it). A name the CA does not list would fail every order, so it is
 * refused before the workers start when the directory can be read then;
 * when it cannot (the CA is away, which never stops seraph), the first order
 * checks it instead and fails, logged and retried like any failed order.
 */
export class AcmeProfile {
  readonly name: string
  readonly #directoryUrl: string
  #checked = false

  constructor (name: string, directoryUrl: string) {
    this.name = name
    this.#directoryUrl = directoryUrl
  }

  /** Before the workers start: throws SERAPH_ERR_ACME_PROFILE_UNKNOWN for a profile the CA does not list; an unreachable CA is only logged. */
  async checkAtStart (log: Logger): Promise<void> {
    let directory: unknown
    try {
      directory = (await caGet(this.#directoryUrl, startCheckMs)).data
    } catch (err) {
      log.warn({ profile: this.name, problem: (err as Error).message }, 'ACME directory unreadable at start: --acme-profile is checked at the first order')
      return
    }
    this.#check(directory)
  }

  /** Before an order, once: the start could not read the directory. Throws the same error. */
  async ensure (): Promise<void> {
    if (!this.#checked) this.#check((await caGet(this.#directoryUrl)).data)
  }

  #check (directory: unknown): void {
    const offered = offeredProfiles(directory)
    if (!offered.includes(this.name)) {
      throw new SeraphError('SERAPH_ERR_ACME_PROFILE_UNKNOWN', this.name, withoutCredentials(this.#directoryUrl), offered.length === 0 ? 'no profiles' : offered.join(', '))
    }
    this.#checked = true
  }
}
