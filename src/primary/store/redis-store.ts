import { randomBytes } from 'node:crypto'
import { Redis, type RedisOptions } from 'ioredis'
import { Gauge, Registry } from 'prom-client'
import type { StoreConfig } from '../../config/store-options.js'
import type { Logger } from '../../shared/logger.js'
import { withoutCredentials } from '../../shared/url-credentials.js'
import { seal, unseal } from './sealed-value.js'
import { storeCommandTimeoutMs, type Lease, type SharedStore } from './shared-store.js'

/** Every key and channel seraph uses starts with this; one Redis database per fleet. */
const prefix = 'seraph:'

/** How long start-up waits for the store before serving without it. */
const startWaitMs = 2_000

/**
 * How often, and how long, a connected store is asked whether it still
 * answers: a Redis that hangs (stopped, swapping, overloaded) keeps its
 * connections open, so only an unanswered PING shows it is down.
 */
const pingEveryMs = 1_000
const pingTimeoutMs = 1_000

// Compare-and-delete / compare-and-expire: only the holder's token touches a lease.
const releaseScript = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
const extendScript = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"

/**
 * The shared store on Redis, through ioredis: one connection for commands,
 * one for subscriptions. Commands never queue while Redis is away (they
 * reject at once) and never wait longer than {@link storeCommandTimeoutMs};
 * ioredis reconnects on its own with a capped back-off. Each change between
 * up and down is logged once and shown as `seraph_store_up`.
 */
export class RedisStore implements SharedStore {
  readonly hostId = randomBytes(6).toString('hex')
  readonly registry = new Registry()
  readonly #key: Buffer
  readonly #log: Logger
  readonly #client: Redis
  readonly #subscriber: Redis
  readonly #channels = new Map<string, Set<(message: string) => void>>()
  readonly #stateListeners: Array<(up: boolean) => void> = []
  #up: boolean | undefined
  #lastProblem = 'not connected yet'
  #closed = false
  #pinger: NodeJS.Timeout | undefined
  #pinging = false

  constructor (config: StoreConfig, log: Logger) {
    this.#key = config.key
    this.#log = log.child({ store: withoutCredentials(config.url) })
    const options: RedisOptions = {
      lazyConnect: true,
      connectTimeout: storeCommandTimeoutMs,
      commandTimeout: storeCommandTimeoutMs,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      // From 100 ms doubling to 5 s, forever: Redis coming back is always picked up.
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times - 1, 6), 5_000)
    }
    this.#client = new Redis(config.url, options)
    // Subscriptions are made here, at every 'ready': ioredis's own autoResubscribe
    // sends them without handling a rejection, and a connection that closes
    // before Redis answers then crashes the primary with an unhandled rejection
    // (event_handler.js readyHandler, ioredis 5 and 6).
    this.#subscriber = new Redis(config.url, { ...options, autoResubscribe: false, commandTimeout: undefined })
    this.#subscriber.on('ready', () => { this.#subscribeAll() })
    for (const connection of [this.#client, this.#subscriber]) {
      // The reason goes into the next state-change line; ioredis would print it otherwise.
      connection.on('error', (err: NodeJS.ErrnoException) => { this.#lastProblem = err.code ?? err.message })
    }
    this.#client.on('ready', () => {
      // What the next outage reports when Redis just closes the connection, with no error.
      this.#lastProblem = 'connection closed'
      this.#setUp(true)
    })
    this.#client.on('close', () => this.#setUp(false))
    this.#subscriber.on('message', (channel: string, message: string) => {
      for (const listener of this.#channels.get(channel.slice(prefix.length)) ?? []) listener(message)
    })
    const up = new Gauge({
      name: 'seraph_store_up',
      help: '1 while the shared store (--store) answers, 0 while it does not',
      registers: [this.registry],
      collect: () => { up.set(this.#up === true ? 1 : 0) }
    })
  }

  get up (): boolean {
    return this.#up === true
  }

  /** Connects, waiting at most {@link startWaitMs}: seraph serves without the store when it is away, and catches up later. */
  async connect (): Promise<void> {
    // Not events.once(): it rejects on the 'error' of a refused first attempt, and ioredis retries.
    const ready = Promise.race([new Promise((resolve) => this.#client.once('ready', resolve)), new Promise((resolve) => setTimeout(resolve, startWaitMs).unref())])
    this.#client.connect().catch(() => {})
    this.#subscriber.connect().catch(() => {})
    this.#pinger = setInterval(() => { this.#ping() }, pingEveryMs)
    this.#pinger.unref()
    await ready
    if (this.#up === undefined) this.#setUp(false)
  }

  async get (key: string, timeoutMs = storeCommandTimeoutMs): Promise<Buffer | undefined> {
    const value = await bounded(this.#client.getBuffer(prefix + key), timeoutMs, key)
    return value === null ? undefined : unseal(this.#key, key, value)
  }

  async set (key: string, value: Buffer | string, ttlMs?: number): Promise<void> {
    const sealed = seal(this.#key, key, Buffer.from(value))
    if (ttlMs === undefined) await this.#client.set(prefix + key, sealed)
    else await this.#client.set(prefix + key, sealed, 'PX', Math.max(1, Math.round(ttlMs)))
  }

  async delete (key: string): Promise<void> {
    await this.#client.del(prefix + key)
  }

  async lock (name: string, ttlMs: number): Promise<Lease | undefined> {
    const key = `${prefix}lock:${name}`
    const token = `${this.hostId}:${randomBytes(8).toString('hex')}`
    const taken = await this.#client.set(key, token, 'PX', Math.round(ttlMs), 'NX')
    if (taken !== 'OK') return undefined
    const client = this.#client
    return {
      name,
      async extend (ttl: number): Promise<boolean> {
        return await client.eval(extendScript, 1, key, token, Math.round(ttl)) === 1
      },
      async release (): Promise<void> {
        // A lease that cannot be released now expires by itself.
        await client.eval(releaseScript, 1, key, token).catch(() => {})
      }
    }
  }

  async publish (channel: string, message: string): Promise<void> {
    await this.#client.publish(prefix + channel, message)
  }

  subscribe (channel: string, listener: (message: string) => void): void {
    let listeners = this.#channels.get(channel)
    if (listeners === undefined) {
      listeners = new Set()
      this.#channels.set(channel, listeners)
      if (this.#subscriber.status === 'ready') this.#subscribeAll()
    }
    listeners.add(listener)
  }

  // A failure is retried at the next 'ready': the connection it failed on is gone.
  #subscribeAll (): void {
    if (this.#channels.size === 0) return
    this.#subscriber.subscribe(...[...this.#channels.keys()].map((channel) => prefix + channel)).catch(() => {})
  }

  onStateChange (listener: (up: boolean) => void): void {
    this.#stateListeners.push(listener)
  }

  async close (): Promise<void> {
    this.#closed = true
    clearInterval(this.#pinger)
    this.#client.disconnect()
    this.#subscriber.disconnect()
  }

  // Down when a connected store stops answering, up again when it answers; a lost connection is the 'close' event's.
  #ping (): void {
    if (this.#client.status !== 'ready' || this.#pinging) return
    this.#pinging = true
    bounded(this.#client.ping(), pingTimeoutMs, 'PING')
      .then(() => this.#setUp(true), (err: Error) => {
        this.#lastProblem = err.message
        this.#setUp(false)
      })
      .finally(() => { this.#pinging = false })
  }

  #setUp (up: boolean): void {
    if (this.#closed || this.#up === up) return
    this.#up = up
    if (up) this.#log.info('store connected')
    else this.#log.warn({ problem: this.#lastProblem }, 'store unreachable: serving goes on, shared state waits')
    for (const listener of this.#stateListeners) listener(up)
  }
}

/** `promise`, or a rejection after `ms`: a slow store never holds a caller longer. */
function bounded<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  if (ms >= storeCommandTimeoutMs) return promise
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`the store did not answer for ${what} within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
