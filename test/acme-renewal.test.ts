import { connect } from 'node:tls'
import t from 'tap'
import { startPebbleReaching } from './helpers/gated-forwarder.js'
import { acmeArgs, names } from './helpers/pebble.js'
import { startSeraph } from './helpers/seraph-process.js'
import { tempDir } from './helpers/certificates.js'
import { shortlyBeforeRenewal } from './helpers/renewal-timing.js'
import { nameLoad, probeName } from './helpers/sni-probe.js'

/** The validity of the certificate `servername` gets. */
function validity (port: number, servername: string): Promise<{ from: number, to: number }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const leaf = socket.getPeerX509Certificate()
      socket.end()
      if (leaf === undefined) return reject(new Error('no certificate'))
      resolve({ from: Date.parse(leaf.validFrom), to: Date.parse(leaf.validTo) })
    })
    socket.once('error', reject)
  })
}

// Let's Encrypt's short-lived (6-day) certificates in miniature: pebble's
// last 23 seconds, below seraph's 10 days, so without renewalInfo they renew
// at half their lifetime, not with a third left.
t.test('renewal of a short certificate under load: the serial changes in every worker', async (t) => {
  const pebble = await startPebbleReaching(t, { validitySeconds: 24 })
  const stateDir = tempDir(t)
  const { seraph, port, ready } = await startSeraph(t, [...acmeArgs(pebble, stateDir, names.slice(0, 1)), '--port', '0', '--redirect-port', '0'])
  pebble.reach({ port, redirectPort: ready.redirectPort as number })
  const obtained = await seraph.waitForLine((l) => l.msg === 'certificate obtained', 'certificate obtained', 60_000)
  const planned = await seraph.waitForLine((l) => l.msg === 'renewal planned' && l.serial === obtained.serial, 'renewal planned', 60_000)
  const lifetime = await validity(port, names[0] as string)
  // pebble 2.4 ends a certificate one second before its validity period is over (validTo is inclusive).
  t.equal(lifetime.to - lifetime.from, 23_000, "pebble's certificate: 23 s")
  t.equal(planned.next, 'renew')
  t.equal(Date.parse(planned.at as string), lifetime.from + 11_500, 'renewal planned at half its lifetime: 11.5 s in, not 15.3 s (a third left)')
  await shortlyBeforeRenewal([seraph], obtained.serial)
  const load = nameLoad(port, names.slice(0, 1))
  const renewed = await seraph.waitForLine((l) => l.msg === 'certificate renewed', 'certificate renewed', 60_000)
  const answeredBefore = load.answered()
  t.ok(answeredBefore > 0, `${answeredBefore} requests answered before the renewal was announced: the load was running`)
  t.not(renewed.serial, obtained.serial, 'a new serial')
  t.ok(Date.parse(renewed.notAfter as string) > Date.parse(obtained.notAfter as string))
  for (const pid of seraph.liveWorkerPids()) {
    await seraph.waitForLine((l) => l.role === 'worker' && l.pid === pid && l.msg === 'certificates applied' && (l.serials as string[]).includes(renewed.serial as string), `worker ${pid} applied the renewal`)
  }
  for (let i = 0; i < 6; i++) t.equal((await probeName(port, names[0])).serial, renewed.serial, 'new handshakes get the renewed certificate')
  const result = await load.stop()
  t.same(result.errors, [], 'no failed request')
  t.ok(result.ok > answeredBefore, `${result.ok - answeredBefore} requests answered after it`)
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
  const pebble = await startPebbleReaching(t)
  const stateDir = tempDir(t)
  const { seraph, port, ready } = await startSeraph(t, [...acmeArgs(pebble, stateDir, names), '--port', '0', '--redirect-port', '0'])
  pebble.reach({ port, redirectPort: ready.redirectPort as number })
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
