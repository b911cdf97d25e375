import { X509Certificate } from 'node:crypto'
import type { Logger } from '../../shared/logger.js'
import { caGet } from './ca-http.js'
import { ariPollDelay, certificateId, nextStep, parseRenewalInfo, type NextStep } from './renewal-info.js'
import { leftAtRenewal, renewalTime } from './renewal-schedule.js'
import type { Served } from './stored-certificate.js'

/**
 * When to renew a served certificate: inside the CA's renewalInfo window
 * (RFC 9773) when its directory offers one, else at a third of the lifetime
 * left (half for a certificate shorter than 10 days: renewal-schedule.ts).
 */
export class RenewalPlanner {
  readonly #directoryUrl: string
  readonly #log: Logger
  /** The directory's renewalInfo URL; null: it offers none. Asked once. */
  #renewalInfo: string | null | undefined

  constructor (directoryUrl: string, log: Logger) {
    this.#directoryUrl = directoryUrl
    this.#log = log
  }

  /** Hands `apply` the next step for `name`, serving `served`, then logs how it was found. Never throws. */
  async plan (name: string, served: Served, apply: (step: NextStep) => void): Promise<void> {
    const fallbackAt = renewalTime(served.notBefore, served.notAfter)
    let step: NextStep = { action: 'renew', at: fallbackAt }
    let window: { start: string, end: string } | undefined
    let note = (): void => {}
    try {
      const base = await this.#renewalInfoUrl()
      const id = base === undefined ? undefined : certificateId(new X509Certificate(served.stored.chain))
      if (base !== undefined && id !== undefined) {
        const { data, headers } = await caGet(`${base.replace(/\/$/, '')}/${id}`)
        const suggested = parseRenewalInfo(data)
        if (suggested === undefined) throw new Error('the answer has no suggestedWindow')
        step = nextStep(Date.now(), fallbackAt, suggested, ariPollDelay(headers['retry-after']))
        window = { start: new Date(suggested.start).toISOString(), end: new Date(suggested.end).toISOString() }
      }
    } catch (err) {
      // The fallback stands; ask again in a while, in case the CA has since moved the window earlier.
      const retryAt = Date.now() + ariPollDelay(undefined)
      if (retryAt < fallbackAt) step = { action: 'check', at: retryAt }
      const left = leftAtRenewal(served.notAfter.getTime() - served.notBefore.getTime()) === 1 / 2 ? 'half' : 'a third'
      note = () => this.#log.warn({ names: [name], problem: (err as Error).message }, `renewal information unavailable, using ${left} of the lifetime`)
    }
    // Planned before it is logged: whoever reads the line finds the plan made.
    apply(step)
    note()
    // One line per plan, so that an operator (and a test) knows when the next
    // order or renewalInfo request will happen without an admin port.
    this.#log.info({ names: [name], serial: served.serial, next: step.action, at: new Date(step.at).toISOString(), ...(window === undefined ? {} : { window }) }, 'renewal planned')
  }

  async #renewalInfoUrl (): Promise<string | undefined> {
    if (this.#renewalInfo === undefined) {
      const { data } = await caGet(this.#directoryUrl)
      const url = (data as { renewalInfo?: unknown } | undefined)?.renewalInfo
      this.#renewalInfo = typeof url === 'string' && URL.canParse(url) ? url : null
    }
    return this.#renewalInfo ?? undefined
  }
}
