import { spawn } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { freePort } from './pebble.js'
import { dieWithTest, killGroup, onTestExit } from './process-group.js'

interface Teardown { teardown (fn: () => unknown): void }

/** Debian installs it in /usr/sbin, which a user's PATH may lack. */
export const haproxyPath = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((path) => existsSync(path)) ?? 'haproxy'

export interface ProxiedServer {
  /** HAProxy's name for it, e.g. `h1`. */
  readonly name: string
  /** seraph's HTTPS port. */
  readonly port: number
  /** seraph's --redirect-port, when the config has an HTTP frontend. */
  readonly redirectPort?: number
}

export interface HaproxyLayout {
  /** HAProxy's HTTPS frontend (backend `seraph`). */
  readonly httpsPort: number
  /** HAProxy's plain-HTTP frontend (backend `seraph-redirect`); needs every server's `redirectPort`. */
  readonly httpPort?: number
  readonly servers: readonly ProxiedServer[]
  /** Health-check interval (HAProxy's `inter`); default 500 ms. */
  readonly checkIntervalMs?: number
}

/**
 * The example of docs/Guides/several-hosts.md on loopback: TCP mode, `balance roundrobin`,
 * `send-proxy-v2`, `/healthz` checked over TLS with a PROXY header of its own
 * (`check-send-proxy`); the redirect backend follows the HTTPS checks
 * (`track`). A connection a dead server refuses is sent to another one
 * (`retries` + `option redispatch 1`).
 */
export function haproxyConfig (layout: HaproxyLayout, statsSocket: string): string {
  const inter = layout.checkIntervalMs ?? 500
  const lines = [
    'global',
    '  maxconn 2000',
    `  stats socket ${statsSocket} mode 600 level admin`,
    '',
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 30s',
    '  timeout server 30s',
    // A host slowed down by a busy test machine is not a dead one.
    '  timeout check 2s',
    '  retries 3',
    '  option redispatch 1',
    '',
    'frontend https',
    `  bind 127.0.0.1:${layout.httpsPort}`,
    '  default_backend seraph',
    '',
    'backend seraph',
    '  balance roundrobin',
    '  option httpchk',
    '  http-check send meth GET uri /healthz ver HTTP/1.1 hdr host localhost',
    '  http-check expect status 200',
    `  default-server inter ${inter}ms fall 3 rise 1`,
    ...layout.servers.map((s) => `  server ${s.name} 127.0.0.1:${s.port} send-proxy-v2 check check-ssl verify none check-send-proxy`)
  ]
  if (layout.httpPort !== undefined) {
    lines.push(
      '',
      'frontend http',
      `  bind 127.0.0.1:${layout.httpPort}`,
      '  default_backend seraph-redirect',
      '',
      'backend seraph-redirect',
      '  balance roundrobin',
      ...layout.servers.map((s) => {
        if (s.redirectPort === undefined) throw new Error(`server ${s.name} has no redirect port`)
        return `  server ${s.name} 127.0.0.1:${s.redirectPort} send-proxy-v2 track seraph/${s.name}`
      })
    )
  }
  return lines.join('\n') + '\n'
}

export interface ServerState {
  readonly backend: string
  readonly server: string
  /** `UP`, `DOWN`, `MAINT`, … */
  readonly status: string
  /** The last check's result: `L7OK`, `L4CON`, `INI` (none yet), … */
  readonly check: string
  /** Every column of `show stat` (`scur`, `stot`, `srv_abrt`, `econ`, `wredis`, …). */
  readonly stats: Readonly<Record<string, string>>
}

/** What a test asks for: the frontends' ports are HAProxy's helper's to pick. */
export interface HaproxyRequest extends Omit<HaproxyLayout, 'httpsPort' | 'httpPort'> {
  /** Also a plain-HTTP frontend (needs every server's `redirectPort`). */
  readonly http?: boolean
}

export interface Haproxy {
  readonly pid: number
  /** The HTTPS frontend's port. */
  readonly httpsPort: number
  /** The plain-HTTP frontend's port, with `http: true`. */
  readonly httpPort: number | undefined
  /** Everything it printed (alerts and warnings, e.g. `Server seraph/h2 is DOWN`). */
  output (): string
  /** Resolves when its output (from now on) matches `pattern`. */
  waitForOutput (pattern: RegExp, timeoutMs?: number): Promise<string>
  /** Every server's state from the stats socket (`show stat`). */
  servers (): Promise<ServerState[]>
  /** Resolves once every server of `backend` is UP with a passed check (polls the stats socket: HAProxy prints nothing for a first check that passes). */
  allUp (backend?: string, timeoutMs?: number): Promise<void>
  /** SIGKILLs it. */
  kill (): void
}

/**
 * Starts Debian's HAProxy with a generated config in `dir`, in its own
 * process group, killed in teardown and when the test process dies (SIGKILL
 * included, through setpriv). Resolves once its frontends are bound.
 *
 * HAProxy needs its ports in the config, so they are picked free (bound and
 * released) just before it starts; another test's process can still take
 * one in between, as a port-0 bind: then HAProxy exits with "Address
 * already in use" and is started again on new ports (seen in CI).
 */
export async function startHaproxy (t: Teardown, dir: string, request: HaproxyRequest): Promise<Haproxy> {
  for (let attempt = 1; ; attempt++) {
    const layout: HaproxyLayout = { ...request, httpsPort: await freePort(), ...(request.http === true ? { httpPort: await freePort() } : {}) }
    try {
      return await startOnPorts(t, dir, layout)
    } catch (err) {
      if (attempt >= 5 || !/Address already in use/.test((err as Error).message)) throw err
    }
  }
}

async function startOnPorts (t: Teardown, dir: string, layout: HaproxyLayout): Promise<Haproxy> {
  const config = join(dir, 'haproxy.cfg')
  const socket = join(dir, 'haproxy.sock')
  writeFileSync(config, haproxyConfig(layout, socket))
  const argv = [...dieWithTest, haproxyPath, '-db', '-f', config]
  const child = spawn(argv[0] as string, argv.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  const forget = onTestExit(() => killGroup(child.pid))
  const stop = (): void => { killGroup(child.pid); forget() }
  t.teardown(stop)
  let output = ''
  const waiters = new Set<{ pattern: RegExp, from: number, resolve: (text: string) => void }>()
  const onData = (chunk: Buffer): void => {
    output += chunk.toString()
    for (const waiter of waiters) {
      const match = waiter.pattern.exec(output.slice(waiter.from))
      if (match !== null) { waiters.delete(waiter); waiter.resolve(match[0]) }
    }
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  const exited = new Promise<never>((_resolve, reject) => child.once('exit', (code, signal) => reject(new Error(`haproxy exited (${String(code ?? signal)}): ${output}`))))
  exited.catch(() => {})
  const haproxy: Haproxy = {
    pid: child.pid as number,
    httpsPort: layout.httpsPort,
    httpPort: layout.httpPort,
    output: () => output,
    waitForOutput (pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const waiter = { pattern, from: output.length, resolve: (text: string) => { clearTimeout(timer); resolve(text) } }
        const timer = setTimeout(() => { waiters.delete(waiter); reject(new Error(`haproxy never printed ${String(pattern)}: ${output}`)) }, timeoutMs)
        waiters.add(waiter)
      })
    },
    servers: () => showStat(socket),
    async allUp (backend = 'seraph', timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const servers = (await showStat(socket)).filter((s) => s.backend === backend)
        if (servers.length > 0 && servers.every((s) => s.status === 'UP' && s.check === 'L7OK')) return
        if (Date.now() > deadline) throw new Error(`haproxy: not every server of ${backend} is up: ${JSON.stringify(servers)}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    },
    kill: stop
  }
  await Promise.race([exited, answering(socket)])
  return haproxy
}

/**
 * Polls the stats socket until HAProxy answers on it, which it does only once
 * its frontends are bound. Not a connection to a frontend: that would reach a
 * seraph host as a connection closed at once.
 */
async function answering (socket: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      await showStat(socket)
      return
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`haproxy does not answer on ${socket}: ${(err as Error).message}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** `show stat` on the stats socket: one row per server. */
function showStat (path: string): Promise<ServerState[]> {
  return new Promise((resolve, reject) => {
    let text = ''
    const socket = connect(path, () => socket.end('show stat\n'))
    socket.setEncoding('utf8').on('data', (chunk: string) => { text += chunk })
    socket.once('error', reject)
    socket.once('close', () => {
      const [header, ...rows] = text.trim().split('\n')
      const columns = (header ?? '').replace(/^# /, '').split(',')
      const at = (name: string): number => columns.indexOf(name)
      resolve(rows.map((row) => row.split(',')).filter((cells) => !['FRONTEND', 'BACKEND'].includes(cells[at('svname')] ?? ''))
        .map((cells) => ({
          backend: cells[at('pxname')] ?? '',
          server: cells[at('svname')] ?? '',
          status: cells[at('status')] ?? '',
          check: (cells[at('check_status')] ?? '').replace(/^\* ?/, ''),
          stats: Object.fromEntries(columns.map((name, i) => [name, cells[i] ?? '']))
        })))
    })
  })
}
