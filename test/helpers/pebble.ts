import { spawn, type ChildProcess } from 'node:child_process'
import { Resolver } from 'node:dns/promises'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request } from 'undici'
import { makeCertificate, tempDir } from './certificates.js'

interface Teardown { teardown (fn: () => unknown): void }

export interface Pebble {
  /** The ACME directory, for --acme-directory. */
  readonly directoryUrl: string
  /** The CA of pebble's own HTTPS certificate, for --acme-ca. */
  readonly caFile: string
  /** Every line pebble printed. */
  readonly lines: string[]
  /** Orders pebble created so far: its one "Added order" line per new-order (pebble 2.4 has no management endpoint for them). */
  orders (): number
  /** Pebble's root certificate (new at each start), PEM. */
  root (): Promise<string>
  /** Resolves with the first line (printed or to come, from index `since` on) that matches. */
  waitForLine (pattern: RegExp, timeoutMs?: number, since?: number): Promise<string>
}

export interface PebbleOptions {
  /** Where pebble's VA connects for HTTP-01 and TLS-ALPN-01: seraph's ports. */
  readonly httpPort: number
  readonly tlsPort: number
  /** certificateValidityPeriod, seconds (pebble's default: 5 years). */
  readonly validitySeconds?: number
  /** PEBBLE_AUTHZREUSE: the percentage of orders that reuse a valid authorization without validating again (pebble's default: 50). */
  readonly authzReusePercent?: number
}

/** A free TCP port on 127.0.0.1 (bound and released: pebble's configuration needs numbers). */
export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

const children = new Set<ChildProcess>()
process.once('exit', () => { for (const child of children) kill(child) })

function kill (child: ChildProcess): void {
  children.delete(child)
  // Each child leads its own process group: nothing it started survives.
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    try { process.kill(-child.pid, 'SIGKILL') } catch {}
  }
}

function run (t: Teardown, command: string, args: string[], env: NodeJS.ProcessEnv, lines: string[], onLine: () => void): ChildProcess {
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  children.add(child)
  t.teardown(() => kill(child))
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on('line', (line) => {
      lines.push(line)
      onLine()
    })
  }
  return child
}

/**
 * Starts `pebble-challtestsrv` as a DNS server only (every name is
 * 127.0.0.1) and `pebble` with its own TLS certificate, validating on
 * `httpPort`/`tlsPort`. Both are killed in teardown.
 */
export async function startPebble (t: Teardown, options: PebbleOptions): Promise<Pebble> {
  // Its ports are picked free, then bound by pebble: another test's process
  // can take one in between (a port-0 bind); then it starts again on others.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startPebbleOnce(t, options)
    } catch (err) {
      if (attempt >= 5 || !/address already in use/i.test((err as Error).message)) throw err
    }
  }
}

async function startPebbleOnce (t: Teardown, options: PebbleOptions): Promise<Pebble> {
  const dir = tempDir(t, 'seraph-pebble-')
  const cert = await makeCertificate(dir, 'tls', { hosts: ['localhost', '127.0.0.1'] })
  const [dnsPort, dnsManagementPort, acmePort, managementPort] = [await freePort(), await freePort(), await freePort(), await freePort()]
  const config = join(dir, 'pebble.json')
  writeFileSync(config, JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${acmePort}`,
      managementListenAddress: `127.0.0.1:${managementPort}`,
      certificate: cert.cert,
      privateKey: cert.key,
      httpPort: options.httpPort,
      tlsPort: options.tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
      ...(options.validitySeconds === undefined ? {} : { certificateValidityPeriod: options.validitySeconds })
    }
  }))
  const lines: string[] = []
  const waiters = new Set<() => void>()
  const onLine = (): void => { for (const waiter of waiters) waiter() }
  const waitForLine = (pattern: RegExp, timeoutMs = 20_000, since = 0): Promise<string> => new Promise((resolve, reject) => {
    const check = (): boolean => {
      const found = lines.slice(since).find((line) => pattern.test(line))
      if (found === undefined) return false
      waiters.delete(waiter)
      clearTimeout(timer)
      resolve(found)
      return true
    }
    const waiter = (): void => { check() }
    const timer = setTimeout(() => {
      waiters.delete(waiter)
      reject(new Error(`pebble: timed out waiting for ${String(pattern)}; output:\n${lines.join('\n')}`))
    }, timeoutMs)
    if (!check()) waiters.add(waiter)
  })
  // A process that exits while we wait until it is ready fails the wait at once, with its output
  // ('close': after its stdout and stderr ended, so the output has its last line, e.g. the bind error).
  const exitedEarly = (child: ChildProcess): Promise<never> => new Promise((_resolve, reject) => {
    child.once('close', (code) => reject(new Error(`${String(child.spawnfile)} exited (${String(code)}) before it was ready:\n${lines.join('\n')}`)))
  })
  const dns = run(t, 'pebble-challtestsrv', ['-dns01', `127.0.0.1:${dnsPort}`, '-defaultIPv4', '127.0.0.1', '-defaultIPv6', '',
    '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${dnsManagementPort}`], {}, lines, onLine)
  const dnsExited = exitedEarly(dns)
  dnsExited.catch(() => {})
  const dnsReady = waitForLine(/Creating TCP and UDP DNS-01 challenge server on 127\.0\.0\.1|DNS-01.*127\.0\.0\.1/)
  dnsReady.catch(() => {})
  try {
    await Promise.race([dnsExited, dnsReady])
  } catch (err) {
    kill(dns)
    throw err
  }
  // Default nonce rejection stays on (5 %): the client must survive badNonce.
  const ca = run(t, 'pebble', ['-config', config, '-dnsserver', `127.0.0.1:${dnsPort}`], { PEBBLE_VA_NOSLEEP: '1', ...(options.authzReusePercent === undefined ? {} : { PEBBLE_AUTHZREUSE: String(options.authzReusePercent) }) }, lines, onLine)
  const caExited = exitedEarly(ca)
  caExited.catch(() => {})
  const caReady = waitForLine(/Listening on: 127\.0\.0\.1:\d+/)
  caReady.catch(() => {})
  const agent = new Agent({ connect: { ca: cert.ca === undefined ? undefined : readFileSync(cert.ca) } })
  t.teardown(() => agent.close())
  // Both print their "listening" lines before they bind (pebble logs, then
  // calls ListenAndServeTLS): a port another process took in between shows
  // only as an exit after the line. Ready is when each answers as itself;
  // an exit meanwhile fails the race with its output (and the caller starts again).
  const answering = { stop: false }
  const served = servesAsPebble(dnsPort, acmePort, managementPort, agent, answering)
  served.catch(() => {})
  try {
    await Promise.race([dnsExited, caExited, caReady.then(async () => await served)])
  } catch (err) {
    kill(dns)
    kill(ca)
    throw err
  } finally {
    answering.stop = true
  }
  return {
    directoryUrl: `https://127.0.0.1:${acmePort}/dir`,
    caFile: cert.ca,
    lines,
    orders: () => lines.filter((line) => /^Pebble .* Added order "[^"]+" to the db$/.test(line)).length,
    root: async () => (await request(`https://127.0.0.1:${managementPort}/roots/0`, { dispatcher: agent })).body.text(),
    waitForLine
  }
}

/**
 * Until pebble's directory and management interface answer over TLS as
 * pebble's, and its DNS server answers 127.0.0.1 for a test name; at most
 * 10 s. No event tells when a child has bound its port, so this asks again
 * every 25 ms.
 */
async function servesAsPebble (dnsPort: number, acmePort: number, managementPort: number, agent: Agent, answering: { stop: boolean }): Promise<void> {
  const resolver = new Resolver({ timeout: 500, tries: 1 })
  resolver.setServers([`127.0.0.1:${dnsPort}`])
  const deadline = Date.now() + 10_000
  let last = ''
  while (!answering.stop) {
    try {
      const directory = await request(`https://127.0.0.1:${acmePort}/dir`, { dispatcher: agent })
      const body = await directory.body.text()
      const roots = await request(`https://127.0.0.1:${managementPort}/roots/0`, { dispatcher: agent })
      await roots.body.text()
      const addresses = await resolver.resolve4(names[0] as string)
      if (directory.statusCode === 200 && body.includes('newOrder') && roots.statusCode === 200 && addresses.includes('127.0.0.1')) return
      last = `directory ${directory.statusCode}, roots ${roots.statusCode}, DNS ${addresses.join(' ')}`
    } catch (err) {
      last = (err as Error).message
    }
    if (Date.now() > deadline) throw new Error(`pebble does not answer on its ports: ${last}`)
    await sleep(25)
  }
}

/** The names the ACME tests order certificates for (pebble's DNS answers 127.0.0.1 for all). */
export const names = ['a.blog.test', 'b.blog.test']

/** seraph's flags for automatic HTTPS against `pebble`. */
export function acmeArgs (pebble: { directoryUrl: string, caFile: string }, stateDir: string, domains: readonly string[]): string[] {
  return [...domains.flatMap((d) => ['--domain', d]), '--acme-directory', pebble.directoryUrl, '--acme-ca', pebble.caFile, '--state-dir', stateDir, '--workers', '2']
}
