import type { Logger } from '../../shared/logger.js'
import type { CertificateStorage, OrderLease } from './certificate-storage.js'
import { fleetPollMs } from './fleet-challenges.js'
import type { StoredCertificate } from './state-store.js'
import { checkStoredCertificate, describe, type Served } from './stored-certificate.js'

export interface FleetCertificateHooks {
  /** What this host serves for `name` now. */
  served (name: string): Served
  /** Serve `served` for `name` from now on: another host obtained it. */
  adopt (name: string, served: Served): Promise<void>
}

/**
 * Certificates shared by a fleet (--store): a host serves the store's
 * certificate for a name as soon as it is newer than its own (announced on
 * pub/sub, polled every {@link fleetPollMs} behind it, and read again
 * whenever the store comes back), and puts its own in the store when the
 * store's is older or gone (a Redis that lost its data is filled again).
 */
export class FleetCertificates {
  readonly #storage: CertificateStorage
  readonly #names: readonly string[]
  readonly #log: Logger
  readonly #hooks: FleetCertificateHooks
  readonly #running = new Map<string, Promise<boolean>>()
  /** Names whose store copy was refused, with the reason (logged once per reason). */
  readonly #refused = new Map<string, string>()
  /** Names another host is ordering now. */
  readonly #busy = new Set<string>()
  #timer: NodeJS.Timeout | undefined

  constructor (storage: CertificateStorage, names: readonly string[], log: Logger, hooks: FleetCertificateHooks) {
    this.#storage = storage
    this.#names = names
    this.#log = log
    this.#hooks = hooks
  }

  /** At start-up: the store's certificate of `name` when it should be served rather than `local` (the disk's). Bounded; never throws. */
  async atStart (name: string, local: Served | undefined): Promise<Served | undefined> {
    const shared = this.#candidate(name, await this.#storage.readSharedAtStart(name))
    return shared !== undefined && (local === undefined || newer(shared, local)) ? shared : undefined
  }

  start (): void {
    this.#storage.onShared((name) => { if (this.#names.includes(name)) this.#quietly(name) })
    this.#storage.store?.onStateChange((up) => { if (up) this.#all() })
    this.#timer = setInterval(() => this.#all(), fleetPollMs)
    this.#timer.unref()
  }

  stop (): void {
    clearInterval(this.#timer)
  }

  /**
   * Adopts the store's certificate of `name` when it is newer than the one
   * served (true), or shares the served one when the store's is older,
   * missing or unusable. One run per name at a time. Throws FleetWait.
   */
  sync (name: string): Promise<boolean> {
    let running = this.#running.get(name)
    if (running === undefined) {
      running = this.#sync(name).finally(() => this.#running.delete(name))
      this.#running.set(name, running)
    }
    return running
  }

  async #sync (name: string): Promise<boolean> {
    const shared = this.#candidate(name, await this.#storage.readShared(name))
    const served = this.#hooks.served(name)
    if (shared !== undefined && (served.temporary || newer(shared, served))) {
      this.#busy.delete(name)
      await this.#hooks.adopt(name, shared)
      return true
    }
    if (!served.temporary && (shared === undefined || served.notAfter > shared.notAfter)) {
      await this.#storage.share(name, served.stored, served.notAfter)
      this.#log.info({ names: [name], serial: served.serial }, 'certificate shared with the fleet')
    }
    return false
  }

  /**
   * The lease on ordering `name`, taken only when the store holds no newer
   * certificate (checked before and after taking it): 'adopted' when
   * another host's certificate was adopted instead, 'busy' while another
   * host is ordering (logged once). Throws FleetWait.
   */
  async takeOrder (name: string): Promise<OrderLease | 'adopted' | 'busy'> {
    if (await this.sync(name)) return 'adopted'
    const lease = await this.#storage.orderLease(name)
    if (lease === undefined) {
      if (!this.#busy.has(name)) this.#log.info({ names: [name] }, 'another host is ordering this certificate, waiting for it')
      this.#busy.add(name)
      return 'busy'
    }
    this.#busy.delete(name)
    try {
      if (await this.sync(name)) {
        await lease.release()
        return 'adopted'
      }
    } catch (err) {
      await lease.release()
      throw err
    }
    this.#log.info({ names: [name], host: this.#storage.store?.hostId }, 'certificate order placed by this host')
    return lease
  }

  /** `stored` as served when it may be served for `name`; a refusal is logged once. */
  #candidate (name: string, stored: StoredCertificate | undefined): Served | undefined {
    if (stored === undefined) return undefined
    const check = checkStoredCertificate(name, stored)
    if (!check.usable) {
      if (this.#refused.get(name) !== check.reason) this.#log.warn({ names: [name], reason: check.reason }, 'store certificate not used')
      this.#refused.set(name, check.reason)
      return undefined
    }
    this.#refused.delete(name)
    return describe(stored, false)
  }

  #all (): void {
    for (const name of this.#names) this.#quietly(name)
  }

  #quietly (name: string): void {
    this.sync(name).catch((err: Error) => this.#log.debug({ names: [name], problem: err.message }, 'fleet certificate not synchronised'))
  }
}

/** Another certificate than `served` that lasts at least as long: every host ends up with the store's. */
function newer (candidate: Served, served: Served): boolean {
  return candidate.serial !== served.serial && candidate.notAfter >= served.notAfter
}
