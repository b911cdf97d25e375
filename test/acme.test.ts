import t from 'tap'
import { startPebble, freePort } from './helpers/pebble.js'
import { startSeraph } from './helpers/seraph-process.js'
import { tempDir } from './helpers/certificates.js'
import { nameLoad, probeName } from './helpers/sni-probe.js'
import { health } from './helpers/admin-metrics.js'
import { readMetrics } from './helpers/admin-metrics.js'

const names = ['a.blog.test', 'b.blog.test']

async function ports () {
  return { port: await freePort(), redirectPort: await freePort() }
}

function acmeArgs (pebble: { directoryUrl: string, caFile: string }, stateDir: string, domains: readonly string[]): string[] {
  return [...domains.flatMap((d) => ['--domain', d]), '--acme-directory', pebble.directoryUrl, '--acme-ca', pebble.caFile, '--state-dir', stateDir, '--workers', '2']
}

t.test('HTTP-01: two names get certificates under load, chains verify to pebble\'s root', async (t) => {
  const { port, redirectPort } = await ports()
  const pebble = await startPebble(t, { httpPort: redirectPort, tlsPort: port })
  const stateDir = tempDir(t)
  const { seraph, ready } = await startSeraph(t, [...acmeArgs(pebble, stateDir, names), '--port', String(port), '--redirect-port', String(redirectPort), '--admin-port', '0'])
  const load = nameLoad(port, names)
  for (const name of names) {
    const line = await seraph.waitForLine((l) => l.msg === 'certificate obtained' && (l.names as string[]).includes(name), `certificate obtained for ${name}`, 60_000)
    t.match(line, { serial: /^[0-9a-f]+$/, notAfter: /^\d{4}-/ })
  }
  await seraph.waitForLine((l) => l.msg === 'certificates applied' && (l.serials as string[]).length === 2 && seraph.lines.filter((x) => x.msg === 'certificate obtained').every((x) => (l.serials as string[]).includes(x.serial as string)), 'workers applied')
  const result = await load.stop()
  t.same(result.errors, [], 'no failed request')
  t.ok(result.ok > 0, `${result.ok} requests answered`)
  const root = await pebble.root()
  for (const name of names) {
    const probe = await probeName(port, name, root)
    t.ok(probe.authorized, `${name}: chain verifies to pebble's root (${probe.authorizationError ?? 'ok'})`)
    t.equal(probe.names, `DNS:${name}`)
  }
  const adminUrl = ready.adminUrl as string
  const status = await health(adminUrl) as unknown as { certificates: Array<{ name: string, temporary: boolean }> }
  t.same(status.certificates.map((c) => [c.name, c.temporary]), names.map((n) => [n, false]))
  const metrics = await readMetrics(adminUrl)
  t.equal(metrics.get('seraph_acme_orders_total{result="valid"}'), 2)
  t.ok((metrics.get(`seraph_certificate_expiry_timestamp_seconds{name="${names[0]}"}`) ?? 0) > Date.now() / 1000)
})

/** The first /healthz `next` of the first name; waits (a condition, not a fixed time) until seraph planned it. */
async function plannedStep (adminUrl: string): Promise<{ action: string, at: string }> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const status = await health(adminUrl) as unknown as { certificates: Array<{ next?: { action: string, at: string } }> }
    const next = status.certificates[0]?.next
    if (next !== undefined) return next
    if (Date.now() > deadline) throw new Error('no renewal planned within 20 s')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

t.test('restart with the same --state-dir serves the stored certificate, no new order', async (t) => {
  const { port, redirectPort } = await ports()
  const pebble = await startPebble(t, { httpPort: redirectPort, tlsPort: port })
  const stateDir = tempDir(t)
  const args = [...acmeArgs(pebble, stateDir, names.slice(0, 1)), '--port', String(port), '--redirect-port', String(redirectPort)]
  const first = await startSeraph(t, args)
  const obtained = await first.seraph.waitForLine((l) => l.msg === 'certificate obtained', 'certificate obtained', 60_000)
  first.seraph.signal('SIGTERM')
  await first.seraph.exited
  const orders = pebble.orders()
  const attempts = first.seraph.lines.filter((l) => l.msg === 'certificate obtained' || l.msg === 'certificate order failed').length
  t.equal(orders, attempts, `pebble created one order per order seraph made (${orders})`)
  const second = await startSeraph(t, [...args, '--admin-port', '0'])
  // /healthz shows each name's planned next step once seraph decided it
  // (after reading the directory for RFC 9773 renewalInfo, absent in pebble
  // 2.4). A renewal planned ahead means no order now and none in flight.
  const next = await plannedStep(second.ready.adminUrl as string)
  t.equal(next.action, 'renew')
  t.ok(Date.parse(next.at) > Date.now() + 86_400_000, `renewal planned for ${next.at}`)
  const probe = await probeName(port, names[0], await pebble.root())
  t.equal(probe.serial, obtained.serial, 'the first handshake after ready has the stored certificate')
  t.ok(probe.authorized)
  t.ok(second.seraph.lines.some((l) => l.msg === 'stored certificate loaded'))
  t.equal(pebble.orders(), orders, 'no new order')
})

t.test('CA unreachable: seraph serves, logs at error, retries, never crashes', async (t) => {
  const dead = await freePort()
  const stateDir = tempDir(t)
  const { seraph, port } = await startSeraph(t, ['--domain', names[0] as string, '--acme-directory', `https://127.0.0.1:${dead}/dir`, '--state-dir', stateDir, '--redirect-port', '0'])
  const failures = (): number => seraph.lines.filter((l) => l.msg === 'certificate order failed').length
  await seraph.waitForLine((l) => l.msg === 'certificate order failed' && l.level === 50, 'first failure')
  t.equal(failures(), 1)
  const probe = await probeName(port, names[0])
  t.equal(probe.status, 200, 'served with the temporary certificate')
  const second = await seraph.waitForLine((l) => l.msg === 'certificate order failed' && l.failures === 2, 'a retry', 30_000)
  t.match(second, { problem: /ECONNREFUSED|connect/, retryInSeconds: 10 })
  t.equal(seraph.stderr, '', 'no stack trace')
  t.equal(seraph.child.exitCode, null, 'still running')
  t.same(seraph.badLines, [])
})

t.test('TLS-ALPN-01 with no plain-HTTP listener', async (t) => {
  const port = await freePort()
  const pebble = await startPebble(t, { httpPort: await freePort(), tlsPort: port })
  const stateDir = tempDir(t)
  const { seraph } = await startSeraph(t, [...acmeArgs(pebble, stateDir, names), '--port', String(port)])
  const load = nameLoad(port, names)
  for (const name of names) {
    await seraph.waitForLine((l) => l.msg === 'certificate obtained' && (l.names as string[]).includes(name), `certificate obtained for ${name}`, 60_000)
  }
  const result = await load.stop()
  t.same(result.errors, [], 'no failed request during the challenges')
  const root = await pebble.root()
  for (const name of names) t.ok((await probeName(port, name, root)).authorized, name)
})

t.test('renewal of a short certificate under load: the serial changes in every worker', async (t) => {
  const { port, redirectPort } = await ports()
  const pebble = await startPebble(t, { httpPort: redirectPort, tlsPort: port, validitySeconds: 24 })
  const stateDir = tempDir(t)
  const { seraph } = await startSeraph(t, [...acmeArgs(pebble, stateDir, names.slice(0, 1)), '--port', String(port), '--redirect-port', String(redirectPort)])
  const obtained = await seraph.waitForLine((l) => l.msg === 'certificate obtained', 'certificate obtained', 60_000)
  const load = nameLoad(port, names.slice(0, 1))
  const renewed = await seraph.waitForLine((l) => l.msg === 'certificate renewed', 'certificate renewed', 60_000)
  t.not(renewed.serial, obtained.serial, 'a new serial')
  t.ok(Date.parse(renewed.notAfter as string) > Date.parse(obtained.notAfter as string))
  for (const pid of seraph.liveWorkerPids()) {
    await seraph.waitForLine((l) => l.role === 'worker' && l.pid === pid && l.msg === 'certificates applied' && (l.serials as string[]).includes(renewed.serial as string), `worker ${pid} applied the renewal`)
  }
  for (let i = 0; i < 6; i++) t.equal((await probeName(port, names[0])).serial, renewed.serial, 'new handshakes get the renewed certificate')
  const result = await load.stop()
  t.same(result.errors, [], 'no failed request')
})

t.test('SNI with two manual pairs: each name its certificate, no SNI or an unknown name the first', async (t) => {
  const { makeCertificate } = await import('./helpers/certificates.js')
  const dir = tempDir(t)
  const one = await makeCertificate(dir, 'one', { hosts: ['one.test'] })
  const two = await makeCertificate(dir, 'two', { hosts: ['two.test', '*.two.test'] })
  const { port } = await startSeraph(t, ['--cert', one.cert, '--key', one.key, '--cert', two.cert, '--key', two.key, '--workers', '1'])
  t.equal((await probeName(port, 'one.test')).names, 'DNS:one.test')
  t.equal((await probeName(port, 'two.test')).names, 'DNS:two.test, DNS:*.two.test')
  t.equal((await probeName(port, 'www.two.test')).names, 'DNS:two.test, DNS:*.two.test', 'wildcard')
  t.equal((await probeName(port, undefined)).names, 'DNS:one.test', 'no server name: the first pair')
  t.equal((await probeName(port, 'other.test')).names, 'DNS:one.test', 'unknown name: the first pair')
})

t.test('a worker killed and a SIGHUP reload during an order: the order still completes', async (t) => {
  const { port, redirectPort } = await ports()
  const pebble = await startPebble(t, { httpPort: redirectPort, tlsPort: port })
  const stateDir = tempDir(t)
  const { seraph } = await startSeraph(t, [...acmeArgs(pebble, stateDir, names), '--port', String(port), '--redirect-port', String(redirectPort)])
  // Right after ready the first order is running: kill a worker, then reload.
  const victim = seraph.liveWorkerPids()[0] as number
  process.kill(victim, 'SIGKILL')
  await seraph.waitForLine((l) => l.msg === 'worker died unexpectedly' && l.workerPid === victim, 'the death')
  seraph.signal('SIGHUP')
  for (const name of names) {
    await seraph.waitForLine((l) => l.msg === 'certificate obtained' && (l.names as string[]).includes(name), `certificate obtained for ${name}`, 60_000)
  }
  await seraph.waitForLine((l) => l.msg === 'reload complete', 'reload complete', 30_000)
  const root = await pebble.root()
  for (const name of names) t.ok((await probeName(port, name, root)).authorized, `${name} served by the new workers`)
  t.equal(seraph.child.exitCode, null)
})
