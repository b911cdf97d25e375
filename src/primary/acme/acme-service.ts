import { setLogger } from 'acme-client'
import type { AcmeConfig } from '../../config/acme-config.js'
import type { Logger } from '../../shared/logger.js'
import type { SharedStore } from '../store/shared-store.js'
import type { AcmeChallenge, CertificateEntry } from '../../shared/messages.js'
import { AcmeMetrics } from './acme-metrics.js'
import { withoutCredentials } from '../../shared/url-credentials.js'
import { configureCaHttp } from './ca-http.js'
import { caWait, longerWait, type CaWait } from './ca-wait.js'
import { Retry } from '../store/retry.js'
import { AcmeOrderer } from './acme-order.js'
import { AcmeProfile } from './acme-profile.js'
import { CertificateStorage, FleetWait, type OrderLease } from './certificate-storage.js'
import { ChallengeRegistry } from './challenge-registry.js'
import { FleetCertificates } from './fleet-certificates.js'
import { FleetChallenges } from './fleet-challenges.js'
import type { NextStep } from './renewal-info.js'
import { RenewalPlanner } from './renewal-planner.js'
import { maxTimerMs, retryDelay } from './renewal-schedule.js'
import type { StoredCertificate } from './state-store.js'
import { addressesFirst } from './ip-identifier.js'
import { describe, type Served } from './stored-certificate.js'
import { temporaryCertificate } from './temporary-certificate.js'

/** While another host of the fleet orders a name: how often to look at the store again (pub/sub usually tells sooner). */
const orderWaitMs = 5_000

export interface AcmeServiceOptions {
  readonly config: AcmeConfig
  readonly log: Logger
  /** --store: the fleet's shared state (certificate-storage.ts, fleet-*.ts); undefined keeps everything on this host. */
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
 * IPC: certificates and pending challenges. With --store a fleet of hosts
 * shares all of it: one host orders a name at a time, under a lease, and the
 * others adopt its certificate and answer its challenges.
 */
export class AcmeService {
  readonly metrics = new AcmeMetrics()
  readonly names: readonly string[]
  readonly #options: AcmeServiceOptions
  readonly #config: AcmeConfig
  readonly #log: Logger
  readonly #storage: CertificateStorage
  readonly #challenges: ChallengeRegistry
  readonly #orderer: AcmeOrderer
  readonly #planner: RenewalPlanner
  readonly #profile: AcmeProfile | undefined
  readonly #fleetChallenges: FleetChallenges | undefined
  readonly #fleet: FleetCertificates | undefined
  /** Names whose order waits for the store (logged once), with their back-off. */
  readonly #waiting = new Map<string, Retry>()
  readonly #served = new Map<string, Served>()
  readonly #timers = new Map<string, NodeJS.Timeout>()
  readonly #failures = new Map<string, number>()
  /** When each name's timer fires, for /healthz. */
  readonly #next = new Map<string, NextStep>()
  /** The longest wait the CA asked for during the order running now. */
  #caWait: CaWait | undefined
  #queue: Promise<void> = Promise.resolve()
  #stopped = false

  constructor (options: AcmeServiceOptions) {
    this.#options = options
    this.#config = options.config
    this.#log = options.log.child({ acme: withoutCredentials(this.#config.directoryUrl) })
    this.names = this.#config.domains.filter((name) => !options.manualNames(name))
    const store = options.store
    this.#storage = new CertificateStorage(this.#config.stateDir, this.#config.directoryUrl, this.#log, store)
    this.#challenges = new ChallengeRegistry(options.publishChallenges)
    this.#fleetChallenges = store === undefined
      ? undefined
      : new FleetChallenges(store, this.#storage.keyPrefix, this.names, this.#log, (name, challenges) => this.#challenges.setRemote(name, challenges))
    this.#fleet = store === undefined
      ? undefined
      : new FleetCertificates(this.#storage, this.names, this.#log, { served: (name) => this.#served.get(name) as Served, adopt: async (name, served) => this.#adopt(name, served) })
    this.#planner = new RenewalPlanner(this.#config.directoryUrl, this.#log)
    this.#profile = this.#config.profile === undefined ? undefined : new AcmeProfile(this.#config.profile, this.#config.directoryUrl)
    this.#orderer = new AcmeOrderer(this.#config, this.#log, this.#storage, this.#challenges, this.#fleetChallenges, this.#profile)
  }

  /**
   * Before the workers start: opens --state-dir, loads the stored
   * certificates (with --store, the store's copy when it is newer: bounded,
   * the disk's otherwise), makes a temporary one for the rest. Asks the CA
   * only for --acme-profile (its directory, at most 5 s): a profile it does
   * not list stops the start (SERAPH_ERR_ACME_PROFILE_UNKNOWN).
   */
  async prepare (): Promise<void> {
    configureCaHttp(this.#config.ca, (response) => { this.#caWait = longerWait(this.#caWait, caWait(response)) })
    await this.#profile?.checkAtStart(this.#log)
    await this.#storage.local.open()
    this.#fleetChallenges?.start()
    const missing: string[] = []
    for (const name of this.names) {
      const local = await this.#storage.loadLocal(name)
      const shared = await this.#fleet?.atStart(name, local)
      const served = shared ?? local
      if (served === undefined) {
        missing.push(name)
        continue
      }
      if (shared !== undefined) await this.#writeLocal(name, shared.stored)
      this.#served.set(name, served)
      this.metrics.expiry(name, served.notAfter)
      this.#log.info({ names: [name], serial: served.serial, notAfter: served.notAfter.toISOString(), ...(this.#fleet === undefined ? {} : { from: shared === undefined ? 'disk' : 'store' }) },
        'stored certificate loaded')
    }
    if (missing.length === 0) return
    const temporary = describe(await temporaryCertificate(missing), true)
    if (temporary === undefined) throw new Error('the temporary certificate cannot be read')
    for (const name of missing) this.#served.set(name, temporary)
  }

  /** Plans every name's next order (at once for those without a certificate). */
  start (): void {
    setLogger((message) => this.#log.debug({ detail: message }, 'acme-client'))
    this.#fleet?.start()
    // The store is back: orders that waited for it go on now.
    this.#storage.store?.onStateChange((up) => {
      if (up) for (const name of this.#waiting.keys()) this.#plan(name, { action: 'renew', at: Date.now() })
    })
    for (const name of this.names) {
      if ((this.#served.get(name) as Served).temporary) this.#plan(name, { action: 'renew', at: Date.now() })
      else this.#enqueue(() => this.#schedule(name))
    }
  }

  stop (): void {
    this.#stopped = true
    this.#fleet?.stop()
    this.#fleetChallenges?.stop()
    for (const timer of this.#timers.values()) clearTimeout(timer)
    this.#timers.clear()
  }

  /**
   * One entry per name, as the workers need it. Addresses first: without
   * --cert the first entry is what clients that send no server name get,
   * and a client connecting to an IP address sends none (RFC 6066 §3).
   */
  get certificates (): CertificateEntry[] {
    return addressesFirst(this.names).map((name) => {
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
    // The certificate this step is for: one adopted from the fleet meanwhile is not renewed.
    const serial = (this.#served.get(name) as Served).serial
    const timer = setTimeout(() => {
      this.#timers.delete(name)
      if (delay >= maxTimerMs) return this.#plan(name, step)
      this.#enqueue(() => step.action === 'renew' ? this.#renew(name, serial) : this.#schedule(name))
    }, Math.min(delay, maxTimerMs))
    timer.unref()
    this.#timers.set(name, timer)
  }

  /** Plans the renewal of a served certificate (renewal-planner.ts). Never throws. */
  async #schedule (name: string): Promise<void> {
    if (this.#stopped) return
    await this.#planner.plan(name, this.#served.get(name) as Served, (step) => this.#plan(name, step))
  }

  // Never throws: a failure is logged, counted and retried later, and the
  // certificate being served stays. `planned`: the serial this renewal is for.
  async #renew (name: string, planned: string): Promise<void> {
    if (this.#stopped) return
    const previous = this.#served.get(name) as Served
    // Another host's certificate was adopted since: no order, plan its renewal.
    if (previous.serial !== planned) return this.#schedule(name)
    this.#caWait = undefined
    let lease: OrderLease | undefined
    try {
      if (this.#fleet !== undefined) {
        const taken = await this.#fleet.takeOrder(name)
        this.#waiting.delete(name)
        if (taken === 'adopted') return
        // Another host orders it: look again soon (its announcement usually comes first).
        if (taken === 'busy') return this.#plan(name, { action: 'renew', at: Date.now() + orderWaitMs })
        lease = taken
      }
      const stored = await this.#orderer.order(name)
      const served = describe(stored, false)
      if (served === undefined) throw new Error('the CA sent a certificate that cannot be read')
      await this.#storage.local.writeCertificate(name, stored)
      this.#served.set(name, served)
      this.#failures.delete(name)
      this.metrics.order('valid')
      this.metrics.expiry(name, served.notAfter)
      this.#log.info({ names: [name], serial: served.serial, notAfter: served.notAfter.toISOString() },
        previous.temporary ? 'certificate obtained' : 'certificate renewed')
      this.#options.publishCertificates(this.certificates)
      // Before the lease goes: a host waiting for it then finds the certificate.
      // (A failure is made good by fleet-certificates.ts's next poll.)
      if (this.#fleet !== undefined) {
        await this.#storage.share(name, stored, served.notAfter)
          .catch((err: Error) => this.#log.warn({ names: [name], problem: err.message }, 'certificate not shared with the fleet yet'))
      }
      await this.#schedule(name)
    } catch (err) {
      if (err instanceof FleetWait) return this.#waitForFleet(name, err)
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
    } finally {
      await lease?.release()
    }
  }

  /** The store is needed and away (or busy): try again with back-off, and as soon as it is back; logged once. */
  #waitForFleet (name: string, err: FleetWait): void {
    let retry = this.#waiting.get(name)
    if (retry === undefined) {
      retry = new Retry()
      this.#waiting.set(name, retry)
      this.#log.warn({ names: [name], problem: err.message }, 'certificate order waits for the store')
    }
    this.#plan(name, { action: 'renew', at: Date.now() + retry.failed() })
  }

  /** Another host's certificate for `name`, from the store: served from now on, kept on disk, its renewal planned. */
  async #adopt (name: string, served: Served): Promise<void> {
    await this.#writeLocal(name, served.stored)
    this.#served.set(name, served)
    this.#failures.delete(name)
    this.#waiting.delete(name)
    this.metrics.expiry(name, served.notAfter)
    this.#log.info({ names: [name], serial: served.serial, notAfter: served.notAfter.toISOString() }, 'certificate adopted from the fleet')
    this.#options.publishCertificates(this.certificates)
    this.#enqueue(() => this.#schedule(name))
  }

  /** Keeps a copy in --state-dir; a failure is logged, the certificate is served all the same. */
  async #writeLocal (name: string, stored: StoredCertificate): Promise<void> {
    try {
      await this.#storage.local.writeCertificate(name, stored)
    } catch (err) {
      this.#log.warn({ names: [name], problem: (err as NodeJS.ErrnoException).code ?? (err as Error).message }, 'certificate not written to --state-dir')
    }
  }
}
