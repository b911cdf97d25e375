import type { Logger } from '../../shared/logger.js'
import type { AcmeChallenge } from '../../shared/messages.js'
import type { SharedStore } from '../store/shared-store.js'

const challengesChannel = 'acme:challenges'
const acksChannel = 'acme:challenge-acks'
const hostsChannel = 'acme:hosts'
/** Every host says it is there this often; one not heard from for {@link hostTtlMs} is no longer waited for. */
const heartbeatMs = 5_000
const hostTtlMs = 15_000
/** Longest wait for the other hosts to confirm a challenge set; after it the CA is asked anyway. */
export const fleetAckWaitMs = 10_000
/** A challenge set left behind by a crashed host expires after this. */
const challengeTtlMs = 600_000
/** Polling behind pub/sub, for a host that missed a message. */
export const fleetPollMs = 10_000

/** The store's value of `<prefix>:challenges:<name>`: the set the ordering host answers. */
interface ChallengeSet { readonly host: string, readonly version: number, readonly challenges: readonly AcmeChallenge[] }
/**
 * On {@link challengesChannel}: `host` changed its set for `name`. On {@link acksChannel}: `host` answers `to`'s set `version`.
 * On {@link hostsChannel}: `host` is there, and gets certificates for `names`.
 */
interface Notice { readonly host: string, readonly name?: string, readonly version?: number, readonly to?: string, readonly names?: readonly string[] }

/**
 * Challenges shared by a fleet (--store): the host that orders a name puts
 * its challenge set in the store and announces it; every other host reads
 * it, hands it to its workers (through `apply`, which resolves once they
 * answer it) and confirms. The ordering host waits for every live host
 * (heard on `acme:hosts` within {@link hostTtlMs}), at most
 * {@link fleetAckWaitMs}, before the CA validates, so that whichever host the
 * CA reaches answers.
 */
export class FleetChallenges {
  readonly #store: SharedStore
  readonly #prefix: string
  readonly #names: readonly string[]
  readonly #log: Logger
  readonly #apply: (name: string, challenges: readonly AcmeChallenge[]) => Promise<void>
  /** Other hosts, by id: when last heard. */
  readonly #hosts = new Map<string, number>()
  /** Per name, the other host's set applied here ("host version"). */
  readonly #applied = new Map<string, string>()
  readonly #waits = new Map<string, { pending: Set<string>, done: () => void }>()
  #version = 0
  #timers: NodeJS.Timeout[] = []

  constructor (store: SharedStore, keyPrefix: string, names: readonly string[], log: Logger, apply: (name: string, challenges: readonly AcmeChallenge[]) => Promise<void>) {
    this.#store = store
    this.#prefix = keyPrefix
    this.#names = names
    this.#log = log
    this.#apply = apply
  }

  start (): void {
    this.#store.subscribe(hostsChannel, (message) => this.#onHost(message))
    this.#store.subscribe(challengesChannel, (message) => {
      const notice = parse(message)
      if (notice !== undefined && notice.host !== this.#store.hostId && this.#names.includes(notice.name ?? '')) this.#sync(notice.name as string)
    })
    this.#store.subscribe(acksChannel, (message) => {
      const notice = parse(message)
      const wait = notice?.to === this.#store.hostId ? this.#waits.get(`${String(notice.name)} ${String(notice.version)}`) : undefined
      if (wait === undefined || notice === undefined) return
      wait.pending.delete(notice.host)
      if (wait.pending.size === 0) wait.done()
    })
    const syncAll = (): void => { for (const name of this.#names) this.#sync(name) }
    this.#store.onStateChange((up) => {
      if (!up) return
      this.#heartbeat()
      syncAll()
    })
    this.#heartbeat()
    // A host that starts (or reconnects) during another's order answers its challenge at once, not at the next poll.
    syncAll()
    const every = (ms: number, task: () => void): void => { const timer = setInterval(task, ms); timer.unref(); this.#timers.push(timer) }
    every(heartbeatMs, () => this.#heartbeat())
    every(fleetPollMs, syncAll)
  }

  stop (): void {
    for (const timer of this.#timers) clearInterval(timer)
    this.#timers = []
    for (const wait of this.#waits.values()) wait.done()
  }

  /** Hosts heard from lately, this one not included. */
  get liveHosts (): string[] {
    const since = Date.now() - hostTtlMs
    return [...this.#hosts].filter(([, at]) => at >= since).map(([host]) => host)
  }

  /**
   * Shares this host's challenges for `name` (none: withdraws them) and
   * resolves once every live host answers them, or after
   * {@link fleetAckWaitMs}. Rejects when the store does not take them.
   */
  async publish (name: string, challenges: readonly AcmeChallenge[]): Promise<void> {
    const key = `${this.#prefix}:challenges:${name}`
    const version = ++this.#version
    const notice = JSON.stringify({ host: this.#store.hostId, name, version } satisfies Notice)
    if (challenges.length === 0) {
      // Left to expire if the store does not answer now.
      await this.#store.delete(key).then(async () => this.#store.publish(challengesChannel, notice)).catch(() => {})
      return
    }
    const hosts = this.liveHosts
    const id = `${name} ${version}`
    const confirmed = this.#confirmations(id, hosts)
    try {
      await this.#store.set(key, JSON.stringify({ host: this.#store.hostId, version, challenges } satisfies ChallengeSet), challengeTtlMs)
      await this.#store.publish(challengesChannel, notice)
    } catch (err) {
      this.#waits.get(id)?.done()
      throw err
    }
    const missing = await confirmed
    if (missing.length > 0) this.#log.warn({ names: [name], hosts: missing, waitedMs: fleetAckWaitMs }, 'challenge not confirmed by every host, asking the CA anyway')
    else this.#log.debug({ names: [name], hosts }, 'challenge confirmed by every host')
  }

  /** Resolves with the hosts that did not confirm in time (none: all did). */
  #confirmations (id: string, hosts: readonly string[]): Promise<string[]> {
    return new Promise((resolve) => {
      const pending = new Set(hosts)
      const timer = setTimeout(() => done(), fleetAckWaitMs)
      const done = (): void => {
        clearTimeout(timer)
        this.#waits.delete(id)
        resolve([...pending])
      }
      this.#waits.set(id, { pending, done })
      if (pending.size === 0) done()
    })
  }

  /** Brings `name`'s challenges from other hosts up to date with the store, and confirms a new set. Never rejects. */
  #sync (name: string): void {
    this.#read(name).then(async (set) => {
      const foreign = set !== undefined && set.host !== this.#store.hostId ? set : undefined
      const id = foreign === undefined ? undefined : `${foreign.host} ${foreign.version}`
      if (id === this.#applied.get(name)) return
      if (id === undefined) this.#applied.delete(name)
      else this.#applied.set(name, id)
      await this.#apply(name, foreign?.challenges ?? [])
      if (foreign === undefined) return
      this.#log.info({ names: [name], from: foreign.host }, 'challenge from another host answered here')
      await this.#store.publish(acksChannel, JSON.stringify({ host: this.#store.hostId, to: foreign.host, name, version: foreign.version } satisfies Notice))
    }).catch((err: Error) => this.#log.debug({ names: [name], problem: err.message }, 'fleet challenges not read'))
  }

  async #read (name: string): Promise<ChallengeSet | undefined> {
    const raw = await this.#store.get(`${this.#prefix}:challenges:${name}`)
    return raw === undefined ? undefined : JSON.parse(raw.toString()) as ChallengeSet
  }

  #heartbeat (): void {
    this.#store.publish(hostsChannel, JSON.stringify({ host: this.#store.hostId, names: this.#names } satisfies Notice)).catch(() => {})
  }

  #onHost (message: string): void {
    const host = parse(message)?.host
    if (host === undefined || host === this.#store.hostId) return
    const known = this.liveHosts.includes(host)
    this.#hosts.set(host, Date.now())
    // A host just started: it hears of this one at once, not at the next beat.
    if (!known) {
      this.#log.debug({ host }, 'fleet host seen')
      this.#heartbeat()
    }
  }
}

/**
 * For a --store host without --domain (primary.ts): it serves its own
 * certificate and answers none of the fleet's challenges, so behind a
 * balancer the CA's validations that reach it fail and the clients it gets
 * see another certificate. docs/Guides/your-domain.md asks every host for the same
 * --domain; this says once, at warn, when another host's heartbeat shows
 * that the fleet gets its certificates by ACME.
 */
export function warnOfFleetAcme (store: SharedStore, log: Logger): void {
  let warned = false
  store.subscribe(hostsChannel, (message) => {
    const notice = parse(message)
    if (warned || notice === undefined || notice.host === store.hostId) return
    warned = true
    log.warn({ host: notice.host, names: notice.names ?? [] },
      'another host of the fleet gets its certificates by ACME and this one has no --domain: it cannot answer their challenges; give every host the same --domain flags')
  })
}

function parse (message: string): Notice | undefined {
  try {
    const notice = JSON.parse(message) as Notice
    return typeof notice.host === 'string' ? notice : undefined
  } catch {
    return undefined
  }
}
