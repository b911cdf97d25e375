import { randomBytes } from 'node:crypto'
import type { Logger } from '../../shared/logger.js'
import { ticketKeyLength } from '../ticket-keys.js'
import { Retry } from './retry.js'
import type { SharedStore } from './shared-store.js'

const storeKey = 'ticket-keys'
const channel = 'ticket-keys'
/** Polling behind pub/sub: a host that missed a message (Redis restarted, a reconnect) still catches up. */
const pollMs = 30_000
const leaseMs = 10_000
/** The holder's new keys normally arrive by pub/sub first; this is the fallback. */
const leaseRetryMs = 500

interface FleetKeys {
  /** 48 bytes, base64, as workers take them. */
  readonly keys: string
  readonly rotatedAt: number
}

/**
 * The session-ticket keys of a fleet (--store without --ticket-key-file):
 * made once for every host, rotated every --ticket-rotate by whichever host
 * takes the lease first, and picked up by the others from pub/sub (or, at
 * the latest, from the next poll). Until the store answers for the first
 * time, a host keeps its own random keys: it serves, its tickets resume only
 * on itself.
 */
export class FleetTicketKeys {
  readonly #store: SharedStore
  readonly #rotateMs: number
  readonly #log: Logger
  readonly #apply: (keys: string) => void
  readonly #retry = new Retry()
  #applied: string | undefined
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  /** A sync was asked for while one ran (a message came in meanwhile): run again after it. */
  #again = false
  #firstApplied: (() => void) | undefined
  #stopped = false

  /** `apply` hands new keys to every worker (and to the ones that start later). */
  constructor (store: SharedStore, rotateMs: number, log: Logger, apply: (keys: string) => void) {
    this.#store = store
    this.#rotateMs = rotateMs
    this.#log = log
    this.#apply = apply
  }

  /**
   * Resolves once the fleet's keys are applied, or after `waitMs` (the store
   * is away, or another host is making the keys right now): workers then
   * start with this host's own keys and get the fleet's when they come.
   */
  async start (waitMs = 2_000): Promise<void> {
    this.#store.subscribe(channel, () => { this.sync().catch(() => {}) })
    this.#store.onStateChange((up) => { if (up) this.sync().catch(() => {}) })
    const applied = new Promise<void>((resolve) => { this.#firstApplied = resolve })
    await this.sync()
    if (!this.#store.up || this.#applied !== undefined) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([applied, new Promise((resolve) => { timer = setTimeout(resolve, waitMs) })])
    clearTimeout(timer)
  }

  stop (): void {
    this.#stopped = true
    clearTimeout(this.#timer)
  }

  /** Reads the fleet's keys, rotating them first when they are due; one run at a time. */
  sync (): Promise<void> {
    if (this.#running !== undefined) {
      this.#again = true
      return this.#running
    }
    this.#running = this.#sync().finally(() => {
      this.#running = undefined
      if (!this.#again) return
      this.#again = false
      this.sync().catch(() => {})
    })
    return this.#running
  }

  async #sync (): Promise<void> {
    if (this.#stopped) return
    let nextMs: number
    try {
      let current = await this.#read()
      if (current === undefined || this.#due(current)) current = await this.#rotate() ?? current
      if (current !== undefined && current.keys !== this.#applied) {
        const first = this.#applied === undefined
        this.#applied = current.keys
        this.#apply(current.keys)
        this.#firstApplied?.()
        this.#log.info({ rotatedAt: new Date(current.rotatedAt).toISOString() }, first ? 'session-ticket keys shared with the fleet' : 'session-ticket keys rotated by the fleet')
      }
      this.#retry.succeeded()
      // Another host holding the lease rotates now: look again soon.
      nextMs = current === undefined || this.#due(current) ? leaseRetryMs : Math.min(pollMs, current.rotatedAt + this.#rotateMs - Date.now())
    } catch (err) {
      nextMs = this.#retry.failed()
      this.#log.debug({ problem: (err as Error).message, retryInMs: nextMs }, 'fleet ticket keys: store unavailable')
    }
    if (this.#stopped) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => { this.sync().catch(() => {}) }, Math.max(100, nextMs))
    this.#timer.unref()
  }

  #due (keys: FleetKeys): boolean {
    return Date.now() - keys.rotatedAt >= this.#rotateMs
  }

  async #read (): Promise<FleetKeys | undefined> {
    const raw = await this.#store.get(storeKey)
    if (raw === undefined) return undefined
    const value = JSON.parse(raw.toString()) as FleetKeys
    if (Buffer.from(value.keys, 'base64').length !== ticketKeyLength) throw new Error('the fleet ticket keys have the wrong length')
    return value
  }

  /** The new keys, or undefined when another host holds the lease. */
  async #rotate (): Promise<FleetKeys | undefined> {
    const lease = await this.#store.lock(storeKey, leaseMs)
    if (lease === undefined) return undefined
    try {
      // Another host may have rotated between our read and our lease.
      const current = await this.#read()
      if (current !== undefined && !this.#due(current)) return current
      const next: FleetKeys = { keys: randomBytes(ticketKeyLength).toString('base64'), rotatedAt: Date.now() }
      await this.#store.set(storeKey, JSON.stringify(next))
      await this.#store.publish(channel, this.#store.hostId)
      this.#log.info(current === undefined ? 'session-ticket keys created for the fleet' : 'session-ticket keys rotated for the fleet')
      return next
    } finally {
      await lease.release()
    }
  }
}
