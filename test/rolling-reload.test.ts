import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { Client, request } from 'undici'
import { bundledPublicDir } from '../src/shared/package-info.js'
import { makeCertificate, swappableCertificate } from './helpers/certificates.js'
import { devCa, getFresh } from './helpers/https-client.js'
import { startLoad } from './helpers/load.js'
import { reloadOrder, startSeraph } from './helpers/seraph-process.js'
import { probeTls } from './helpers/tls-probe.js'

// Short keep-alive and shutdown timeouts so replaced workers finish draining quickly.
const flags = ['--workers', '2', '--keep-alive-timeout', '1s', '--shutdown-timeout', '3s']

t.test('5 rolling reloads under keep-alive and new-connection load: zero failed requests', async (t) => {
  const ca = await devCa()
  const { seraph, port } = await startSeraph(t, flags)
  const first = seraph.liveWorkerPids()
  const load = startLoad(ca, port, { keepAlive: 8, fresh: 2 })
  t.teardown(() => load.stop())
  for (let i = 1; i <= 5; i++) {
    const done = seraph.nextLine((l) => l.msg === 'reload complete', `reload ${i}`)
    seraph.signal('SIGHUP')
    await done
    // Let the load run against the new workers before the next reload.
    await load.answers(200)
  }
  const result = await load.stop()
  t.ok(result.ok > 1000, `${result.ok} requests answered during the reloads`)
  t.same(result.errors, [], 'zero failed requests')
  t.ok(result.keepAliveRequests > 5 * result.keepAliveConnections, `keep-alive was real: ${result.keepAliveRequests} requests on ${result.keepAliveConnections} connections`)
  t.ok(result.closes >= 5, `${result.closes} requests reached draining workers on open connections and were answered with Connection: close`)
  const order = reloadOrder(seraph.lines)
  t.equal(order.checked, 10, 'every old worker of the five reloads had a replacement')
  t.same(order.violations, [], 'each old worker drained only after its replacement listened')
  const now = seraph.liveWorkerPids()
  t.equal(now.length, 2)
  t.notOk(now.some((pid) => first.includes(pid)), 'every worker pid is new')
  t.equal(seraph.lines.filter((l) => l.msg === 'reload complete').length, 5)
})

t.test('SIGHUP with a broken certificate: refused, the old workers keep serving', async (t) => {
  const { cert, key, ca } = await swappableCertificate(t)
  const { seraph, port } = await startSeraph(t, [...flags, '--cert', cert, '--key', key])
  const before = seraph.liveWorkerPids()
  writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n')
  const refused = seraph.nextLine((l) => l.msg.startsWith('reload refused'), 'the refusal')
  seraph.signal('SIGHUP')
  const line = await refused
  t.match(line, { level: 50, code: 'SERAPH_ERR_CERT_INVALID' })
  t.match(line.msg, cert)
  t.same(seraph.liveWorkerPids(), before, 'the same workers')
  t.equal((await getFresh(ca, port, '/healthz')).status, 200, 'still serving')
  t.notOk(seraph.lines.some((l) => l.msg === 'worker forked' && !before.includes(l.workerPid as number)), 'no worker was started')
})

t.test('certificate swap: new handshakes see the new certificate, an old connection finishes its request', async (t) => {
  const { dir, cert, key, use, first: a } = await swappableCertificate(t, 'a')
  const [b, c] = await Promise.all(['b', 'c'].map((name) => makeCertificate(dir, name)))
  const cas = [a, b!, c!].map((pair) => readFileSync(pair.ca))
  const fingerprint = async (): Promise<string> => (await probeTls(port, { ca: cas, version: 'TLSv1.3' })).fingerprint256
  const { seraph, port } = await startSeraph(t, [...flags, '--shutdown-timeout', '20s', '--cert', cert, '--key', key])
  const { X509Certificate } = await import('node:crypto')
  const print = (file: string): string => new X509Certificate(readFileSync(file)).fingerprint256
  t.equal(await fingerprint(), print(a.cert))

  // A download in flight on an old connection, read only after the swap.
  const old = new Client(`https://127.0.0.1:${port}`, { connect: { ca: cas } })
  t.teardown(() => old.destroy())
  const download = await request(`https://127.0.0.1:${port}/images/wallpaper-2560.png`, { dispatcher: old })

  use(b!)
  const done = seraph.nextLine((l) => l.msg === 'reload complete', 'reload complete')
  seraph.signal('SIGHUP')
  await done
  t.equal(await fingerprint(), print(b!.cert), 'after SIGHUP, a new connection sees certificate B')
  const body = Buffer.from(await download.body.arrayBuffer())
  t.ok(body.equals(readFileSync(join(bundledPublicDir, 'images/wallpaper-2560.png'))), 'the old connection finished its download')

  // SIGUSR2: swapped in place, same workers, no connection dropped.
  const workers = seraph.liveWorkerPids()
  use(c!)
  const applied = Promise.all(workers.map((pid) => seraph.nextLine((l) => l.msg === 'certificate reloaded' && l.pid === pid, `worker ${pid} applied it`)))
  seraph.signal('SIGUSR2')
  await applied
  t.equal(await fingerprint(), print(c!.cert), 'after SIGUSR2, a new connection sees certificate C')
  t.same(seraph.liveWorkerPids(), workers, 'without replacing a worker')
})

t.test('SIGKILLed workers under load: only requests on their own connections may fail, none is refused or hangs', async (t) => {
  const ca = await devCa()
  const { seraph, port } = await startSeraph(t, flags)
  const keepAlive = 6
  const fresh = 2
  const load = startLoad(ca, port, { keepAlive, fresh })
  t.teardown(() => load.stop())
  const kills = 3
  for (let i = 0; i < kills; i++) {
    const [victim] = seraph.liveWorkerPids() as [number]
    const replaced = seraph.nextLine((l) => l.msg === 'worker listening', 'the replacement')
    process.kill(victim, 'SIGKILL')
    await replaced
  }
  const result = await load.stop()
  t.ok(result.ok > 200, `${result.ok} answered`)
  t.ok(result.failed <= kills * (keepAlive + fresh), `${result.failed} failed, at most one per connection a killed worker held`)
  t.notOk(result.errors.some((e) => /ECONNREFUSED/.test(e)), 'no connection refused')
  t.notOk(result.errors.some((e) => /Timeout/i.test(e)), 'no request hung')
  t.equal(seraph.liveWorkerPids().length, 2, 'the worker count is restored')
})
