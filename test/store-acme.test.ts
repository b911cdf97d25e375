import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { appliedEverywhere, first, is } from './helpers/acme-lines.js'
import { tempDir } from './helpers/certificates.js'
import { gatedForwarder } from './helpers/gated-forwarder.js'
import { acmeArgs, freePort, names, startPebble, type Pebble } from './helpers/pebble.js'
import { startRedis, type RedisServer } from './helpers/redis-server.js'
import { startSeraph, type SeraphProcess } from './helpers/seraph-process.js'
import { shortlyBeforeRenewal } from './helpers/renewal-timing.js'
import { nameLoad, probeName } from './helpers/sni-probe.js'

// Several real seraph processes share one real Redis (--store) and one pebble.
const name = names[0] as string

interface Teardown { teardown (fn: () => unknown): void }

function storeKeyFile (t: Teardown): string {
  const file = join(tempDir(t), 'store.key')
  writeFileSync(file, randomBytes(32))
  return file
}

interface Host { readonly seraph: SeraphProcess, readonly port: number, readonly redirectPort: number, readonly stateDir: string }

// Ports 0: pebble reaches a host through a gated forwarder, which learns the
// host's ports from its ready line (picking free ports for it raced with
// other tests' processes in CI: SERAPH_ERR_PORT_IN_USE).
async function startHost (t: Teardown, pebble: Pebble, redis: RedisServer, keyFile: string, options: { http: boolean, stateDir?: string }): Promise<Host> {
  const stateDir = options.stateDir ?? tempDir(t)
  const { seraph, port, ready } = await startSeraph(t, [...acmeArgs(pebble, stateDir, [name]), '--port', '0',
    ...(options.http ? ['--redirect-port', '0'] : []), '--store', redis.url(), '--store-key-file', keyFile])
  return { seraph, port, redirectPort: options.http ? ready.redirectPort as number : 0, stateDir }
}

const fleetAcmeWarning = 'another host of the fleet gets its certificates by ACME and this one has no --domain: it cannot answer their challenges; give every host the same --domain flags'

function storedOnDisk (stateDir: string): boolean {
  // acmeArgs' directory is https://127.0.0.1:PORT/dir: one folder per directory (state-store.ts).
  return readdirSync(stateDir).some((folder) => existsSync(join(stateDir, folder, 'certificates', `${name}.pem`)))
}

t.test('three hosts started together: one order; the CA reaches a host that did not place it; every host serves the serial', async (t) => {
  const redis = await startRedis(t)
  const keyFile = storeKeyFile(t)
  // pebble's validation reaches the host the test picks, when it picks it.
  const toHost = await gatedForwarder(t)
  const pebble = await startPebble(t, { httpPort: toHost.port, tlsPort: await freePort() })
  const hosts = await Promise.all([0, 1, 2].map(async () => startHost(t, pebble, redis, keyFile, { http: true })))

  const placed = await first(hosts, 'certificate order placed by this host')
  const answering = hosts[(placed.index + 1) % hosts.length] as Host
  toHost.release({ port: answering.redirectPort })

  const obtained = await hosts[placed.index]!.seraph.waitForLine(is('certificate obtained'), 'certificate obtained', 60_000)
  t.ok(toHost.connections() > 0, `pebble validated through the forwarder (${toHost.connections()} connections)`)
  await answering.seraph.waitForLine(is('challenge from another host answered here'), 'the challenge learnt from the store')
  for (const [index, host] of hosts.entries()) {
    if (index !== placed.index) await host.seraph.waitForLine(is('certificate adopted from the fleet', obtained.serial), `host ${index} adopts`, 30_000)
    await appliedEverywhere(host.seraph, obtained.serial)
    t.equal((await probeName(host.port, name)).serial, obtained.serial, `host ${index} serves the fleet's certificate`)
    t.ok(storedOnDisk(host.stateDir), `host ${index} keeps it in its --state-dir`)
  }
  t.equal(pebble.orders(), 1, 'one order at the CA, not three')
  t.same(hosts.map((h) => h.seraph.lines.filter(is('certificate order placed by this host')).length).sort(), [0, 0, 1], 'one host placed it')
})

t.test('a host started later adopts the stored certificate without ordering; restarted while Redis is down it serves it at once', async (t) => {
  const redis = await startRedis(t)
  const keyFile = storeKeyFile(t)
  const toA = await gatedForwarder(t)
  const pebble = await startPebble(t, { httpPort: toA.port, tlsPort: await freePort() })
  const a = await startHost(t, pebble, redis, keyFile, { http: true })
  toA.release({ port: a.redirectPort })
  const obtained = await a.seraph.waitForLine(is('certificate obtained'), 'certificate obtained', 60_000)

  const b = await startHost(t, pebble, redis, keyFile, { http: true })
  const loaded = await b.seraph.waitForLine(is('stored certificate loaded'), 'stored certificate loaded')
  t.match(loaded, { serial: obtained.serial, from: 'store' }, 'taken from the store before the workers started')
  t.equal((await probeName(b.port, name)).serial, obtained.serial, 'served from the first handshake on')
  t.ok(storedOnDisk(b.stateDir), 'and kept in its own --state-dir')

  // B restarts with Redis gone: its disk copy is served at once.
  await redis.kill()
  b.seraph.killAll()
  await b.seraph.exited
  const again = await startHost(t, pebble, redis, keyFile, { http: true, stateDir: b.stateDir })
  t.match(await again.seraph.waitForLine(is('stored certificate loaded'), 'stored certificate loaded'), { serial: obtained.serial, from: 'disk' })
  t.equal((await probeName(again.port, name)).serial, obtained.serial, 'served without the store')
  t.equal(pebble.orders(), 1, 'nobody ordered again')
  for (const host of [a, b, again]) t.equal(host.seraph.lines.filter(is('certificate order placed by this host')).length, host === a ? 1 : 0)
})

t.test('TLS-ALPN-01: a renewal reaches every host, under load, with one order per certificate', async (t) => {
  const redis = await startRedis(t)
  const keyFile = storeKeyFile(t)
  // pebble's validation reaches the host the test picks, when it picks it.
  const toHost = await gatedForwarder(t)
  const pebble = await startPebble(t, { httpPort: await freePort(), tlsPort: toHost.port, validitySeconds: 30 })
  const hosts = await Promise.all([0, 1].map(async () => startHost(t, pebble, redis, keyFile, { http: false })))
  // The CA always reaches the second host, whichever one orders.
  toHost.release({ port: (hosts[1] as Host).port })

  const obtained = await first(hosts, 'certificate obtained')
  const other = hosts[1 - obtained.index] as Host
  await other.seraph.waitForLine(is('certificate adopted from the fleet', obtained.line.serial), 'adopted', 30_000)
  await shortlyBeforeRenewal(hosts.map((host) => host.seraph), obtained.line.serial)
  const loads = hosts.map((host) => nameLoad(host.port, [name]))

  const renewed = await first(hosts, 'certificate renewed')
  const answeredBefore = loads.map((load) => load.answered())
  t.ok(answeredBefore.every((n) => n > 0), `requests answered by each host before the renewal was announced: ${answeredBefore.join(', ')}`)
  t.not(renewed.line.serial, obtained.line.serial, 'a new serial')
  const adopter = hosts[1 - renewed.index] as Host
  const adopted = await adopter.seraph.waitForLine(is('certificate adopted from the fleet', renewed.line.serial), 'the renewal adopted', 30_000)
  // Announced (pub/sub), not found at the next poll or at the adopter's own renewal time.
  t.ok(adopted.time as number - (renewed.line.time as number) < 2_000, `adopted ${adopted.time as number - (renewed.line.time as number)} ms after the renewal`)
  t.equal(pebble.orders(), 2, 'one order for the certificate, one for its renewal')
  for (const [index, host] of hosts.entries()) {
    await appliedEverywhere(host.seraph, renewed.line.serial)
    t.equal((await probeName(host.port, name)).serial, renewed.line.serial, `host ${index} serves the renewal`)
  }
  for (const [index, load] of loads.entries()) {
    const result = await load.stop()
    t.same(result.errors, [], `host ${index}: no failed request`)
    t.ok(result.ok > (answeredBefore[index] as number), `host ${index}: ${result.ok} requests answered, ${result.ok - (answeredBefore[index] as number)} of them after the renewal was announced`)
  }
})

t.test('started while Redis is down: serves its temporary certificate, the order waits, and goes on once Redis is back', async (t) => {
  const redis = await startRedis(t)
  const keyFile = storeKeyFile(t)
  const toHost = await gatedForwarder(t)
  const pebble = await startPebble(t, { httpPort: toHost.port, tlsPort: await freePort() })
  await redis.kill()
  const host = await startHost(t, pebble, redis, keyFile, { http: true })
  toHost.release({ port: host.redirectPort })
  const { port } = host
  const waits = await host.seraph.waitForLine(is('certificate order waits for the store'), 'the order waits', 30_000)
  t.equal(waits.level, 40, 'one warning')
  t.equal((await probeName(port, name)).status, 200, 'serving meanwhile (temporary certificate)')
  t.equal(pebble.orders(), 0, 'no order without the store')
  await redis.restart()
  const obtained = await host.seraph.waitForLine(is('certificate obtained'), 'certificate obtained once Redis is back', 60_000)
  await appliedEverywhere(host.seraph, obtained.serial)
  t.equal((await probeName(port, name)).serial, obtained.serial)
  t.equal(host.seraph.lines.filter(is('certificate order waits for the store')).length, 1, 'the wait logged once, not at every retry')
  t.equal(host.seraph.lines.filter(is('certificate order failed')).length, 0, 'waiting is not a failed order')
  t.equal(pebble.orders(), 1)
})

t.test('a host with --store but no --domain in a fleet that uses ACME: it warns', async (t) => {
  const redis = await startRedis(t)
  const keyFile = storeKeyFile(t)
  const toHost = await gatedForwarder(t)
  const pebble = await startPebble(t, { httpPort: toHost.port, tlsPort: await freePort() })
  // The host without --domain starts first: it hears the ACME host's first heartbeat.
  const { seraph: without } = await startSeraph(t, ['--port', '0', '--workers', '1', '--store', redis.url(), '--store-key-file', keyFile])
  const host = await startHost(t, pebble, redis, keyFile, { http: true })
  toHost.release({ port: host.redirectPort })
  const warning = await without.waitForLine(is(fleetAcmeWarning), 'the warning', 30_000)
  t.match(warning, { level: 40, role: 'primary', names: [name] }, 'at warn, with the names the fleet orders')
  await host.seraph.waitForLine(is('certificate obtained'), 'certificate obtained', 60_000)
  // Every heartbeat it hears (at a host's start, every 5 s) would repeat it without the flag; whether one came by now depends on timing.
  t.equal(without.lines.filter(is(fleetAcmeWarning)).length, 1, 'one warning so far')
  t.notOk(host.seraph.lines.some(is(fleetAcmeWarning)), 'not on the host that has --domain')
})
