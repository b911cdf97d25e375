import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { readMetrics } from './admin-metrics.js'
import { makeCertificate, tempDir } from './certificates.js'
import { startHaproxy, type Haproxy } from './haproxy.js'
import { killGroup } from './process-group.js'
import { startRedis, type RedisServer } from './redis-server.js'
import { startSeraph, waitUntilGone, type LogLine, type SeraphProcess } from './seraph-process.js'

interface Teardown { teardown (fn: () => unknown): void }

export interface FleetHost {
  /** 0, 1, 2, … */
  readonly index: number
  /** HAProxy's name for it: h1, h2, … */
  readonly name: string
  /** A directory of its own, e.g. for --state-dir. */
  readonly dir: string
  readonly seraph: SeraphProcess
  readonly port: number
  readonly redirectPort: number
  readonly adminUrl: string
  /** `seraph_store_up` on its admin listener. */
  storeUp (): Promise<number>
  /** SIGKILLs the whole host (its process group: primary and workers) and resolves once every process is gone. */
  kill (): Promise<void>
}

export interface FleetOptions {
  /** Default 3. */
  readonly hosts?: number
  /** Workers per host; default 2. */
  readonly workers?: number
  /** Flags for every host, after the fleet's own. */
  readonly args?: readonly string[]
  /** Flags for one host, e.g. `['--state-dir', host.dir]`. */
  readonly hostArgs?: (host: { index: number, name: string, dir: string }) => readonly string[]
  /**
   * Every host gets the same `--cert`/`--key` (the default). `false` for a
   * fleet that gets its certificate from a CA (`--domain` in `args`).
   */
  readonly certificate?: boolean
  /** HAProxy's health-check interval; default 300 ms. */
  readonly checkIntervalMs?: number
}

export interface Fleet {
  readonly redis: RedisServer
  readonly haproxy: Haproxy
  readonly hosts: readonly FleetHost[]
  /** HAProxy's HTTPS frontend: what clients connect to. */
  readonly httpsPort: number
  /** HAProxy's plain-HTTP frontend, in front of every host's --redirect-port. */
  readonly httpPort: number
  /** The CA of the fleet's --cert (undefined with `certificate: false`). */
  readonly ca: Buffer | undefined
  readonly dir: string
  /** The --store-key-file every host reads. */
  readonly storeKeyFile: string
  /** The host whose access log has a line for `url` (printed or still to come: lines come up to a second late). */
  hostOf (url: string, timeoutMs?: number): Promise<FleetHost>
  /** Resolves with each host's first line, from now on, that passes `test`. */
  nextOnEvery (test: (line: LogLine) => boolean, description: string, timeoutMs?: number): Promise<LogLine[]>
}

/**
 * A fleet on loopback, all real processes: one `redis-server`, N seraph hosts
 * (the built CLI, 2 workers each) sharing it through `--store` with the same
 * `--store-key-file` and `--cert`, each with `--proxy-protocol
 * --trusted-proxy 127.0.0.1`, a `--redirect-port` and an admin listener, and
 * one HAProxy in TCP mode in front of both ports (docs/Guides/several-hosts.md's example:
 * roundrobin, send-proxy-v2, /healthz checks with check-send-proxy). Every
 * process lives in its own process group and is killed in teardown and when
 * the test process dies. Resolves once HAProxy has seen every host pass a
 * health check.
 */
export async function startFleet (t: Teardown, options: FleetOptions = {}): Promise<Fleet> {
  const dir = tempDir(t, 'seraph-fleet-')
  const storeKeyFile = join(dir, 'store.key')
  writeFileSync(storeKeyFile, randomBytes(32), { mode: 0o600 })
  const certificate = options.certificate === false ? undefined : await makeCertificate(dir, 'tls')
  const redis = await startRedis(t)
  const common = [
    '--workers', String(options.workers ?? 2),
    '--store', redis.url(),
    '--store-key-file', storeKeyFile,
    '--proxy-protocol', '--trusted-proxy', '127.0.0.1',
    '--redirect-port', '0',
    '--admin-port', '0',
    ...(certificate === undefined ? [] : ['--cert', certificate.cert, '--key', certificate.key]),
    ...options.args ?? []
  ]
  const hosts = await Promise.all(Array.from({ length: options.hosts ?? 3 }, async (_, index): Promise<FleetHost> => {
    const name = `h${index + 1}`
    const hostDir = join(dir, name)
    mkdirSync(hostDir)
    const { seraph, port, ready } = await startSeraph(t, [...common, ...options.hostArgs?.({ index, name, dir: hostDir }) ?? []])
    const adminUrl = ready.adminUrl as string
    return {
      index,
      name,
      dir: hostDir,
      seraph,
      port,
      redirectPort: ready.redirectPort as number,
      adminUrl,
      storeUp: async () => (await readMetrics(adminUrl)).get('seraph_store_up') ?? Number.NaN,
      async kill () {
        const pids = seraph.seraphPids()
        killGroup(seraph.child.pid)
        seraph.killAll()
        await seraph.exited
        const alive = await waitUntilGone(pids)
        if (alive.length > 0) throw new Error(`${name}: still running after SIGKILL: ${alive.join(' ')}`)
      }
    }
  }))
  const haproxy = await startHaproxy(t, dir, {
    http: true,
    servers: hosts.map((h) => ({ name: h.name, port: h.port, redirectPort: h.redirectPort })),
    checkIntervalMs: options.checkIntervalMs ?? 300
  })
  await haproxy.allUp()
  return {
    redis,
    haproxy,
    hosts,
    httpsPort: haproxy.httpsPort,
    httpPort: haproxy.httpPort as number,
    ca: certificate === undefined ? undefined : readFileSync(certificate.ca),
    dir,
    storeKeyFile,
    hostOf (url, timeoutMs = 5_000) {
      return Promise.any(hosts.map((host) => host.seraph.waitForLine((l) => l.msg === 'request' && l.url === url, `the access line of ${url}`, timeoutMs).then(() => host)))
        .catch(() => { throw new Error(`no host logged ${url}`) })
    },
    nextOnEvery (test, description, timeoutMs) {
      return Promise.all(hosts.map((host) => host.seraph.nextLine(test, `${host.name}: ${description}`, timeoutMs)))
    }
  }
}

export interface Channel {
  /** Messages received so far. */
  readonly messages: string[]
  /** Resolves once `count` messages have arrived in all. */
  received (count: number, timeoutMs?: number): Promise<void>
}

/**
 * Listens on one of the fleet's pub/sub channels (`seraph:<name>`), like
 * every host's primary does: a message seen here has reached the hosts too.
 */
export async function listen (t: Teardown, fleet: Fleet, name: string): Promise<Channel> {
  const redis = new Redis(fleet.redis.url(), { lazyConnect: true, maxRetriesPerRequest: 0 })
  t.teardown(() => redis.disconnect())
  // It reconnects by itself when a test stops and restarts Redis.
  redis.on('error', () => {})
  await redis.connect()
  const messages: string[] = []
  const waiters = new Set<{ count: number, resolve: () => void }>()
  redis.on('message', (_channel: string, message: string) => {
    messages.push(message)
    for (const waiter of waiters) if (messages.length >= waiter.count) { waiters.delete(waiter); waiter.resolve() }
  })
  await redis.subscribe(`seraph:${name}`)
  return {
    messages,
    received: (count, timeoutMs = 5_000) => messages.length >= count
      ? Promise.resolve()
      : new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${messages.length} of ${count} messages on seraph:${name}`)), timeoutMs)
        waiters.add({ count, resolve: () => { clearTimeout(timer); resolve() } })
      })
  }
}
