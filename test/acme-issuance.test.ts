import t from 'tap'
import { startPebbleReaching } from './helpers/gated-forwarder.js'
import { acmeArgs, names } from './helpers/pebble.js'
import { startSeraph } from './helpers/seraph-process.js'
import { tempDir } from './helpers/certificates.js'
import { nameLoad, probeName } from './helpers/sni-probe.js'
import { health } from './helpers/admin-metrics.js'
import { readMetrics } from './helpers/admin-metrics.js'

t.test('HTTP-01: two names get certificates under load, chains verify to pebble\'s root', async (t) => {
  const pebble = await startPebbleReaching(t)
  const stateDir = tempDir(t)
  const { seraph, port, ready } = await startSeraph(t, [...acmeArgs(pebble, stateDir, names), '--port', '0', '--redirect-port', '0', '--admin-port', '0'])
  pebble.reach({ port, redirectPort: ready.redirectPort as number })
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

t.test('TLS-ALPN-01 with no plain-HTTP listener', async (t) => {
  const pebble = await startPebbleReaching(t)
  const stateDir = tempDir(t)
  const { seraph, port } = await startSeraph(t, [...acmeArgs(pebble, stateDir, names), '--port', '0'])
  pebble.reach({ port })
  const load = nameLoad(port, names)
  for (const name of names) {
    await seraph.waitForLine((l) => l.msg === 'certificate obtained' && (l.names as string[]).includes(name), `certificate obtained for ${name}`, 60_000)
  }
  const result = await load.stop()
  t.same(result.errors, [], 'no failed request during the challenges')
  const root = await pebble.root()
  for (const name of names) t.ok((await probeName(port, name, root)).authorized, name)
})
