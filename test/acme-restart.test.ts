import t from 'tap'
import { startPebbleReaching } from './helpers/gated-forwarder.js'
import { acmeArgs, freePort, names } from './helpers/pebble.js'
import { startSeraph } from './helpers/seraph-process.js'
import { tempDir } from './helpers/certificates.js'
import { probeName } from './helpers/sni-probe.js'
import { health } from './helpers/admin-metrics.js'

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
  const pebble = await startPebbleReaching(t)
  const stateDir = tempDir(t)
  const args = [...acmeArgs(pebble, stateDir, names.slice(0, 1)), '--port', '0', '--redirect-port', '0']
  const first = await startSeraph(t, args)
  pebble.reach({ port: first.port, redirectPort: first.ready.redirectPort as number })
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
  const probe = await probeName(second.port, names[0], await pebble.root())
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
