import { crypto as acmeCrypto } from 'acme-client'
import type { Logger } from '../../shared/logger.js'
import type { Lease, SharedStore } from '../store/shared-store.js'
import { directoryFolder, StateStore, type StoredCertificate } from './state-store.js'
import { checkStoredCertificate, describe, type Served } from './stored-certificate.js'

/**
 * A step that needs the fleet's store could not run now: the store does not
 * answer, or another host holds what the step needs. Not a failure of the
 * CA: the step waits and is tried again (acme-service.ts).
 */
export class FleetWait extends Error {}

/** Tells every host that `name` has a new certificate in the store. */
const certificateChannel = 'acme:certificates'
/** An order's lease: a crashed holder blocks the name this long at most; extended every third of it while the order runs. */
export const orderLeaseMs = 30_000
const accountLeaseMs = 10_000
/** How long start-up reads the store for a certificate before serving what the disk has. */
const startReadMs = 1_000

/** A certificate's announcement on {@link certificateChannel}. */
interface CertificateNotice { readonly host: string, readonly name: string }

/**
 * Where ACME state lives. Always on this host's --state-dir (state-store.ts),
 * so a restart serves at once even when the store is away; with --store also
 * in the fleet's store (sealed by it), under
 *   acme:<directory>:account-key
 *   acme:<directory>:certificate:<name>   ({key, chain}, expiring with the certificate)
 * and each new certificate announced on `acme:certificates`.
 */
export class CertificateStorage {
  readonly local: StateStore
  readonly store: SharedStore | undefined
  /** Start of every store key of this ACME directory. */
  readonly keyPrefix: string
  readonly #log: Logger

  constructor (stateDir: string, directoryUrl: string, log: Logger, store?: SharedStore) {
    this.local = new StateStore(stateDir, directoryUrl)
    this.store = store
    this.keyPrefix = `acme:${directoryFolder(directoryUrl)}`
    this.#log = log
  }

  /** The disk's certificate of `name` if it can be served as it is; otherwise undefined, with one warning saying why (none when there is no file). */
  async loadLocal (name: string): Promise<Served | undefined> {
    let reason: string
    try {
      const stored = await this.local.readCertificate(name)
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

  /** The store's copy of `name`; undefined without --store or when it holds none. Throws {@link FleetWait} when the store does not answer. */
  async readShared (name: string, timeoutMs?: number): Promise<StoredCertificate | undefined> {
    const raw = await this.#shared(async (store) => store.get(`${this.keyPrefix}:certificate:${name}`, timeoutMs))
    if (raw === undefined) return undefined
    const value = JSON.parse(raw.toString()) as Partial<StoredCertificate>
    if (typeof value.key !== 'string' || typeof value.chain !== 'string') throw new Error(`the store's certificate of ${name} holds no key and chain`)
    return { key: value.key, chain: value.chain }
  }

  /** Like {@link readShared} at start-up: bounded, and undefined (logged at debug) whatever goes wrong. */
  async readSharedAtStart (name: string): Promise<StoredCertificate | undefined> {
    if (this.store?.up !== true) return undefined
    try {
      return await this.readShared(name, startReadMs)
    } catch (err) {
      this.#log.debug({ names: [name], problem: (err as Error).message }, 'store certificate not read at start')
      return undefined
    }
  }

  /** Puts `stored` in the store (until `notAfter`) and announces it to every host. Throws {@link FleetWait}. */
  async share (name: string, stored: StoredCertificate, notAfter: Date): Promise<void> {
    await this.#shared(async (store) => {
      await store.set(`${this.keyPrefix}:certificate:${name}`, JSON.stringify(stored), Math.max(1_000, notAfter.getTime() - Date.now()))
      await store.publish(certificateChannel, JSON.stringify({ host: store.hostId, name } satisfies CertificateNotice))
    })
  }

  /** `listener` hears of every certificate another host puts in the store (by name). */
  onShared (listener: (name: string) => void): void {
    this.store?.subscribe(certificateChannel, (message) => {
      try {
        const notice = JSON.parse(message) as CertificateNotice
        if (notice.host !== this.store?.hostId && typeof notice.name === 'string') listener(notice.name)
      } catch {}
    })
  }

  /**
   * The lease on ordering `name` for the fleet, kept (extended) until
   * released; undefined while another host holds it. Throws {@link FleetWait}.
   */
  async orderLease (name: string): Promise<OrderLease | undefined> {
    const lease = await this.#shared(async (store) => store.lock(`order:${name}`, orderLeaseMs))
    return lease === undefined ? undefined : new OrderLease(lease, this.#log.child({ names: [name] }))
  }

  /**
   * The ACME account key: the fleet's (one account for every host), else
   * this host's, else a new one. With --store the first host to need one
   * shares its own (or a new one) under a lease; the others take it.
   */
  async accountKey (): Promise<{ pem: string, created: boolean }> {
    const store = this.store
    const local = await this.local.readAccountKey()
    if (store === undefined) {
      if (local !== undefined) return { pem: local, created: false }
      return { pem: await this.#writeLocalKey(await newKey()), created: true }
    }
    const key = `${this.keyPrefix}:account-key`
    const shared = (await this.#shared(async () => store.get(key)))?.toString()
    if (shared !== undefined) return { pem: shared === local ? shared : await this.#writeLocalKey(shared), created: false }
    const lease = await this.#shared(async () => store.lock(key, accountLeaseMs))
    if (lease === undefined) throw new FleetWait('another host is creating the fleet\'s ACME account')
    try {
      const again = (await this.#shared(async () => store.get(key)))?.toString()
      if (again !== undefined) return { pem: await this.#writeLocalKey(again), created: false }
      const pem = local ?? await newKey()
      await this.#shared(async () => store.set(key, pem))
      if (local === undefined) await this.local.writeAccountKey(pem)
      return { pem, created: local === undefined }
    } finally {
      await lease.release()
    }
  }

  async #writeLocalKey (pem: string): Promise<string> {
    await this.local.writeAccountKey(pem)
    return pem
  }

  async #shared<T> (step: (store: SharedStore) => Promise<T>): Promise<T | undefined> {
    const store = this.store
    if (store === undefined) return undefined
    if (!store.up) throw new FleetWait('the store is unreachable')
    try {
      return await step(store)
    } catch (err) {
      if (err instanceof FleetWait) throw err
      throw new FleetWait((err as Error).message)
    }
  }
}

/** A held order lease, extended every third of {@link orderLeaseMs} until released. */
export class OrderLease {
  readonly #lease: Lease
  readonly #timer: NodeJS.Timeout
  #lost = false

  constructor (lease: Lease, log: Logger) {
    this.#lease = lease
    this.#timer = setInterval(() => {
      lease.extend(orderLeaseMs).then((held) => { if (!held) this.#lose(log, 'taken over') }, (err: Error) => this.#lose(log, err.message))
    }, orderLeaseMs / 3)
    this.#timer.unref()
  }

  #lose (log: Logger, problem: string): void {
    if (this.#lost) return
    this.#lost = true
    // The order goes on: stopping it half-way helps nobody; at worst a second host orders too.
    log.warn({ problem }, 'certificate order lease lost')
  }

  async release (): Promise<void> {
    clearInterval(this.#timer)
    await this.#lease.release()
  }
}

async function newKey (): Promise<string> {
  return (await acmeCrypto.createPrivateEcdsaKey()).toString()
}
