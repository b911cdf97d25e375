import { X509Certificate } from 'node:crypto'
import { Client, crypto as acmeCrypto, setLogger } from 'acme-client'
import type { AcmeConfig } from '../acme-config.js'
import type { Logger } from '../logger.js'
import type { AcmeChallenge, CertificateEntry } from '../messages.js'
import { AcmeMetrics } from './acme-metrics.js'
import { configureCaHttp } from './ca-http.js'
import { ChallengeRegistry } from './challenge-registry.js'
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
  #queue: Promise<void> = Promise.resolve()
  #client: Client | undefined
  #stopped = false

  constructor (options: AcmeServiceOptions) {
    this.#options = options
    this.#config = options.config
    this.#log = options.log.child({ acme: this.#config.directoryUrl })
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
    configureCaHttp(this.#config.ca)
    setLogger((message) => this.#log.debug({ detail: message }, 'acme-client'))
    for (const name of this.names) {
      const served = this.#served.get(name) as Served
      this.#plan(name, served.temporary ? Date.now() : renewalTime(served.notBefore, served.notAfter))
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
  health (): Array<{ name: string, notAfter: string, serial: string, temporary: boolean }> {
    return this.names.map((name) => {
      const served = this.#served.get(name) as Served
      return { name, notAfter: served.notAfter.toISOString(), serial: served.serial, temporary: served.temporary }
    })
  }

  #plan (name: string, at: number): void {
    if (this.#stopped) return
    clearTimeout(this.#timers.get(name))
    const delay = Math.max(0, at - Date.now())
    const timer = setTimeout(() => {
      this.#timers.delete(name)
      if (delay === maxTimerMs) return this.#plan(name, at)
      this.#queue = this.#queue.then(() => this.#renew(name))
    }, Math.min(delay, maxTimerMs))
    timer.unref()
    this.#timers.set(name, timer)
  }

  // Never throws: a failure is logged, counted and retried later, and the
  // certificate being served stays.
  async #renew (name: string): Promise<void> {
    if (this.#stopped) return
    const previous = this.#served.get(name) as Served
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
      this.#plan(name, renewalTime(served.notBefore, served.notAfter))
    } catch (err) {
      const failures = (this.#failures.get(name) ?? 0) + 1
      this.#failures.set(name, failures)
      this.metrics.order('failed')
      const delayMs = retryDelay(failures)
      const error = err as NodeJS.ErrnoException
      this.#log.error({
        names: [name],
        problem: error.message,
        ...(error.code === undefined ? {} : { code: error.code }),
        failures,
        retryInSeconds: Math.round(delayMs / 1000),
        serving: previous.temporary ? 'temporary certificate' : previous.serial
      }, previous.temporary ? 'certificate order failed' : 'certificate renewal failed')
      this.#plan(name, Date.now() + delayMs)
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
