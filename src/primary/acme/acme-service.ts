import { X509Certificate } from 'node:crypto'
import { Client, crypto as acmeCrypto, setLogger } from 'acme-client'
import type { AcmeConfig } from '../../config/acme-config.js'
import type { Logger } from '../../shared/logger.js'
import type { SharedStore } from '../store/shared-store.js'
import type { AcmeChallenge, CertificateEntry } from '../../shared/messages.js'
import { AcmeMetrics } from './acme-metrics.js'
import { caGet, configureCaHttp, withoutCredentials } from './ca-http.js'
import { caWait, longerWait, type CaWait } from './ca-wait.js'
import { ChallengeRegistry } from './challenge-registry.js'
import { ariPollDelay, certificateId, nextStep, parseRenewalInfo, type NextStep } from './renewal-info.js'
import { maxTimerMs, renewalTime, retryDelay } from './renewal-schedule.js'
import { StateStore, type StoredCertificate } from './state-store.js'
import { checkStoredCertificate } from './stored-certificate.js'
import { temporaryCertificate } from './temporary-certificate.js'

interface Served {
  readonly stored: StoredCertificate
  readonly serial: string
  readonly notBefore: Date
  readonly notAfter: Date
  /** The self-signed stand-in of temporary-certificate.ts. */
  readonly temporary: boolean
}

export interface AcmeServiceOptions {
  readonly config: AcmeConfig
  readonly log: Logger
  /** --store: the fleet's shared state (not used yet). */
  readonly store?: SharedStore | undefined
  /** Names a --cert pair covers: never ordered. */
  readonly manualNames: (name: string) => boolean
  /** Sends the certificates to every worker. */
  readonly publishCertificates: (entries: CertificateEntry[]) => void
  /** Sends the challenges to every worker; resolves once they answer them. */
  readonly publishChallenges: (version: number, challenges: readonly AcmeChallenge[]) => Promise<void>
}

/**
 * The primary's side of ACME (RFC 8555, through acme-client): the account,
 * one order at a time, one certificate per name (a failing name never holds
 * the others back, and a name added later needs no new certificate for the
 * rest), and the renewal schedule. Workers only ever see the results, over
 * IPC: certificates and pending challenges.
 */
export class AcmeService {
  readonly metrics = new AcmeMetrics()
  readonly names: readonly string[]
  readonly #options: AcmeServiceOptions
  readonly #config: AcmeConfig
  readonly #log: Logger
  readonly #store: StateStore
  readonly #challenges: ChallengeRegistry
  readonly #served = new Map<string, Served>()
  readonly #timers = new Map<string, NodeJS.Timeout>()
  readonly #failures = new Map<string, number>()
  /** When each name's timer fires, for /healthz. */
  readonly #next = new Map<string, NextStep>()
  /** The longest wait the CA asked for during the order running now. */
  #caWait: CaWait | undefined
  /** The directory's renewalInfo URL (RFC 9773); null: it offers none. Asked once. */
  #renewalInfo: string | null | undefined
  #queue: Promise<void> = Promise.resolve()
  #client: Client | undefined
  #stopped = false

  constructor (options: AcmeServiceOptions) {
    this.#options = options
    this.#config = options.config
    this.#log = options.log.child({ acme: withoutCredentials(this.#config.directoryUrl) })
    this.names = this.#config.domains.filter((name) => !options.manualNames(name))
    this.#store = new StateStore(this.#config.stateDir, this.#config.directoryUrl)
    this.#challenges = new ChallengeRegistry(options.publishChallenges)
  }

  /** Before the workers start: opens --state-dir, loads the stored certificates, makes a temporary one for the rest. Never asks the CA. */
  async prepare (): Promise<void> {
    await this.#store.open()
    const missing: string[] = []
    for (const name of this.names) {
      const served = await this.#loadStored(name)
      if (served === undefined) {
        missing.push(name)
        continue
      }
      this.#served.set(name, served)
      this.metrics.expiry(name, served.notAfter)
      this.#log.info({ names: [name], serial: served.serial, notAfter: served.notAfter.toISOString() }, 'stored certificate loaded')
    }
    if (missing.length === 0) return
    const temporary = describe(await temporaryCertificate(missing), true)
    if (temporary === undefined) throw new Error('the temporary certificate cannot be read')
    for (const name of missing) this.#served.set(name, temporary)
  }

  /** The stored certificate of `name` if it can be served as it is; otherwise undefined, with one warning saying why (none when there is no file). */
  async #loadStored (name: string): Promise<Served | undefined> {
    let stored: StoredCertificate | undefined
    let reason: string
    try {
      stored = await this.#store.readCertificate(name)
      if (stored === undefined) return undefined
      const check = checkStoredCertificate(name, stored)
      if (check.usable) return describe(stored, false)
      reason = check.reason
    } catch (err) {
      reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    }
    this.#log.warn({ names: [name], reason }, 'stored certificate not used, ordering a new one')
    return undefined
  }

  /** Plans every name's next order (at once for those without a certificate). */
  start (): void {
    configureCaHttp(this.#config.ca, (response) => { this.#caWait = longerWait(this.#caWait, caWait(response)) })
    setLogger((message) => this.#log.debug({ detail: message }, 'acme-client'))
    for (const name of this.names) {
      if ((this.#served.get(name) as Served).temporary) this.#plan(name, { action: 'renew', at: Date.now() })
      else this.#enqueue(() => this.#schedule(name))
    }
  }

  stop (): void {
    this.#stopped = true
    for (const timer of this.#timers.values()) clearTimeout(timer)
    this.#timers.clear()
  }

  /** One entry per name, as the workers need it. */
  get certificates (): CertificateEntry[] {
    return this.names.map((name) => {
      const served = this.#served.get(name) as Served
      return { names: [name], serial: served.serial, cert: served.stored.chain, key: served.stored.key }
    })
  }

  get challenges (): AcmeChallenge[] {
    return this.#challenges.all
  }

  get challengeVersion (): number {
    return this.#challenges.version
  }

  /** For the admin /healthz. */
  health (): Array<{ name: string, notAfter: string, serial: string, temporary: boolean, next?: { action: string, at: string } }> {
    return this.names.map((name) => {
      const served = this.#served.get(name) as Served
      const next = this.#next.get(name)
      return {
        name,
        notAfter: served.notAfter.toISOString(),
        serial: served.serial,
        temporary: served.temporary,
        ...(next === undefined ? {} : { next: { action: next.action, at: new Date(next.at).toISOString() } })
      }
    })
  }

  // Every request to the CA, orders and renewalInfo alike, runs one at a time.
  #enqueue (task: () => Promise<void>): void {
    this.#queue = this.#queue.then(task)
  }

  #plan (name: string, step: NextStep): void {
    if (this.#stopped) return
    clearTimeout(this.#timers.get(name))
    this.#next.set(name, step)
    const delay = Math.max(0, step.at - Date.now())
    const timer = setTimeout(() => {
      this.#timers.delete(name)
      if (delay >= maxTimerMs) return this.#plan(name, step)
      this.#enqueue(() => step.action === 'renew' ? this.#renew(name) : this.#schedule(name))
    }, Math.min(delay, maxTimerMs))
    timer.unref()
    this.#timers.set(name, timer)
  }

  /** Plans the renewal of a served certificate: inside the CA's renewalInfo window when it offers one, else at a third of the lifetime left. Never throws. */
  async #schedule (name: string): Promise<void> {
    if (this.#stopped) return
    const served = this.#served.get(name) as Served
    const fallbackAt = renewalTime(served.notBefore, served.notAfter)
    let step: NextStep = { action: 'renew', at: fallbackAt }
    try {
      const base = await this.#renewalInfoUrl()
      const id = base === undefined ? undefined : certificateId(new X509Certificate(served.stored.chain))
      if (base !== undefined && id !== undefined) {
        const { data, headers } = await caGet(`${base.replace(/\/$/, '')}/${id}`)
        const window = parseRenewalInfo(data)
        if (window === undefined) throw new Error('the answer has no suggestedWindow')
        step = nextStep(Date.now(), fallbackAt, window, ariPollDelay(headers['retry-after']))
        this.#log.debug({ names: [name], window: { start: new Date(window.start).toISOString(), end: new Date(window.end).toISOString() }, next: step.action, at: new Date(step.at).toISOString() }, 'renewal information')
      }
    } catch (err) {
      // The fallback stands; ask again in a while, in case the CA has since moved the window earlier.
      const retryAt = Date.now() + ariPollDelay(undefined)
      if (retryAt < fallbackAt) step = { action: 'check', at: retryAt }
      this.#log.warn({ names: [name], problem: (err as Error).message }, 'renewal information unavailable, using a third of the lifetime')
    }
    this.#plan(name, step)
  }

  async #renewalInfoUrl (): Promise<string | undefined> {
    if (this.#renewalInfo === undefined) {
      const { data } = await caGet(this.#config.directoryUrl)
      const url = (data as { renewalInfo?: unknown } | undefined)?.renewalInfo
      this.#renewalInfo = typeof url === 'string' && URL.canParse(url) ? url : null
    }
    return this.#renewalInfo ?? undefined
  }

  // Never throws: a failure is logged, counted and retried later, and the
  // certificate being served stays.
  async #renew (name: string): Promise<void> {
    if (this.#stopped) return
    const previous = this.#served.get(name) as Served
    this.#caWait = undefined
    try {
      const stored = await this.#order(name)
      const served = describe(stored, false)
      if (served === undefined) throw new Error('the CA sent a certificate that cannot be read')
      await this.#store.writeCertificate(name, stored)
      this.#served.set(name, served)
      this.#failures.delete(name)
      this.metrics.order('valid')
      this.metrics.expiry(name, served.notAfter)
      this.#log.info({ names: [name], serial: served.serial, notAfter: served.notAfter.toISOString() },
        previous.temporary ? 'certificate obtained' : 'certificate renewed')
      this.#options.publishCertificates(this.certificates)
      await this.#schedule(name)
    } catch (err) {
      const failures = (this.#failures.get(name) ?? 0) + 1
      this.#failures.set(name, failures)
      this.metrics.order('failed')
      // The CA's Retry-After (capped in ca-wait.ts) wins over a shorter back-off step.
      const asked = this.#caWait as CaWait | undefined
      const delayMs = Math.max(retryDelay(failures), asked?.ms ?? 0)
      const error = err as NodeJS.ErrnoException
      this.#log.error({
        names: [name],
        problem: error.message,
        ...(error.code === undefined ? {} : { code: error.code }),
        failures,
        retryInSeconds: Math.round(delayMs / 1000),
        ...(asked === undefined ? {} : { caRetryAfterSeconds: Math.round(asked.ms / 1000), rateLimited: asked.rateLimited }),
        serving: previous.temporary ? 'temporary certificate' : previous.serial
      }, previous.temporary ? 'certificate order failed' : 'certificate renewal failed')
      this.#plan(name, { action: 'renew', at: Date.now() + delayMs })
    }
  }

  async #order (name: string): Promise<StoredCertificate> {
    const client = await this.#account()
    const [key, csr] = await acmeCrypto.createCsr({ commonName: name, altNames: [name] }, await acmeCrypto.createPrivateEcdsaKey())
    const type = this.#config.challenge
    const chain = await client.auto({
      csr,
      ...(this.#config.email === undefined ? {} : { email: this.#config.email }),
      termsOfServiceAgreed: true,
      // acme-client's own check fetches http://NAME/ on port 80 from this
      // machine, which proves nothing the CA's validation does not.
      skipChallengeVerification: true,
      challengePriority: [type],
      challengeCreateFn: async (authz, challenge, keyAuthorization) => {
        if (challenge.type !== type) throw new Error(`the CA offers no ${type} challenge for ${authz.identifier.value}`)
        const id = `${authz.identifier.value} ${challenge.token}`
        if (type === 'http-01') return this.#challenges.add(id, { type, token: challenge.token, keyAuthorization })
        const [challengeKey, cert] = await acmeCrypto.createAlpnCertificate(authz, keyAuthorization)
        return this.#challenges.add(id, { type, name: authz.identifier.value, cert: cert.toString(), key: challengeKey.toString() })
      },
      challengeRemoveFn: async (authz, challenge) => this.#challenges.remove(`${authz.identifier.value} ${challenge.token}`)
    })
    return { key: key.toString(), chain }
  }

  async #account (): Promise<Client> {
    if (this.#client !== undefined) return this.#client
    let accountKey = await this.#store.readAccountKey()
    if (accountKey === undefined) {
      accountKey = (await acmeCrypto.createPrivateEcdsaKey()).toString()
      await this.#store.writeAccountKey(accountKey)
      this.#log.info({ stateDir: this.#store.root }, 'ACME account key created')
    }
    // Polls an order or challenge from 0.5 s, doubling, for about a minute.
    this.#client = new Client({ directoryUrl: this.#config.directoryUrl, accountKey, backoffMin: 500, backoffMax: 10_000, backoffAttempts: 10 })
    return this.#client
  }
}

/** Serial and validity of a stored chain's leaf; undefined when it cannot be read. */
function describe (stored: StoredCertificate, temporary: boolean): Served | undefined {
  try {
    const leaf = new X509Certificate(stored.chain)
    return { stored, serial: leaf.serialNumber.toLowerCase(), notBefore: new Date(leaf.validFrom), notAfter: new Date(leaf.validTo), temporary }
  } catch {
    return undefined
  }
}
