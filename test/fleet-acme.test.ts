import { connect } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import t from 'tap'
import { appliedEverywhere, first, is } from './helpers/acme-lines.js'
import { gatedForwarder } from './helpers/gated-forwarder.js'
import { startFleet, type Fleet } from './helpers/fleet.js'
import { startLoad } from './helpers/load.js'
import { freePort, names, startPebble } from './helpers/pebble.js'
import { v2Tcp } from './helpers/proxy-client.js'
import type { LogLine } from './helpers/seraph-process.js'
import { shortlyBeforeRenewal } from './helpers/renewal-timing.js'
import { probeName } from './helpers/sni-probe.js'

// The fleet of docs/Guides/several-hosts.md with a CA: three seraph hosts (2 workers each) with
// --domain and --store, one Redis, HAProxy (roundrobin, send-proxy-v2) in
// front, and pebble validating through HAProxy.
const name = names[0] as string
/**
 * Short-lived (under 10 days), so renewed at half its lifetime: 20 s after
 * issuance (pebble ends it a second early: 19.5 s), 20 s before it expires;
 * the load starts 3 s before. The renewal has to be on every host before
 * then, or the load meets the expired certificate: acme-client polls a
 * pending validation at 0.5, 1.5, 3.5 and 7.5 s, and a CI host under the
 * suite's load once needed the fourth poll (with 20 s, 6.7 s left: CI saw
 * CERT_HAS_EXPIRED right after the renewal). The 20 s before the renewal
 * also leave the order's checks below time to finish first on a loaded
 * machine: with 30 s (renewed at 15 s) one run under load counted no
 * validation connection for the renewal, likely because it came before the
 * order's connections were counted (not proven).
 */
const validitySeconds = 40
/**
 * The address pebble's validation connections reach HAProxy from. The hosts
 * trust only 127.0.0.1 (HAProxy) and refuse a connection from it without a
 * PROXY header, so a host that logs this address heard it from HAProxy.
 */
const validatorAddress = '127.0.0.7'

/**
 * One host directly, not through HAProxy: a PROXY v2 header (the host
 * requires one from 127.0.0.1), then TLS with SNI `name` and GET /healthz.
 */
function probeHost (port: number, ca: string): Promise<{ serial: string, authorized: boolean, status: number }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.write(v2Tcp('127.0.0.9', 40_000))
      let answer = ''
      let handshake: { serial: string, authorized: boolean } | undefined
      const tls = tlsConnect({ socket, servername: name, ca, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
        handshake = { serial: tls.getPeerCertificate().serialNumber.toLowerCase(), authorized: tls.authorized }
        tls.write(`GET /healthz HTTP/1.1\r\nHost: ${name}\r\nConnection: close\r\n\r\n`)
      })
      tls.setEncoding('utf8').on('data', (chunk: string) => { answer += chunk })
      tls.on('error', reject)
      tls.on('close', () => handshake === undefined
        ? reject(new Error('no handshake'))
        : resolve({ ...handshake, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0) }))
    })
    socket.on('error', reject)
  })
}

const isChallengeAnswer = (line: LogLine): boolean => line.msg === 'request' && String(line.url).startsWith('/.well-known/acme-challenge/') && line.status === 200

/** Connections HAProxy sent to each server of `backend` so far (`stot`; health checks are not counted). */
async function sessions (fleet: Fleet, backend: string): Promise<Map<string, number>> {
  return new Map((await fleet.haproxy.servers()).filter((s) => s.backend === backend).map((s) => [s.server, Number(s.stats.stot)]))
}

const sum = (counts: Map<string, number>): number => [...counts.values()].reduce((a, b) => a + b, 0)

for (const challenge of ['http-01', 'tls-alpn-01'] as const) {
  t.test(`${challenge} through HAProxy: one order for three hosts, every host serves it, its renewal reaches every host under load`, async (t) => {
    // HTTP-01: pebble → HAProxy's plain-HTTP frontend → a host's --redirect-port; TLS-ALPN-01: → its HTTPS frontend → a host's --port.
    // pebble's validation port: its connections wait until HAProxy is up with
    // every host (it starts once they are ready, and a host orders as soon as
    // its workers listen: a validation refused before would fail the order and
    // make a second one), then go to HAProxy's frontend from validatorAddress.
    const validation = await gatedForwarder(t)
    const backend = challenge === 'http-01' ? 'seraph-redirect' : 'seraph'
    const pebble = await startPebble(t, {
      httpPort: challenge === 'http-01' ? validation.port : await freePort(),
      tlsPort: challenge === 'tls-alpn-01' ? validation.port : await freePort(),
      validitySeconds,
      // Every order validates: the renewal goes through HAProxy too.
      authzReusePercent: 0
    })
    const fleet = await startFleet(t, {
      certificate: false,
      args: ['--domain', name, '--acme-directory', pebble.directoryUrl, '--acme-ca', pebble.caFile, '--acme-challenge', challenge],
      hostArgs: (host) => ['--state-dir', host.dir]
    })
    validation.release({ port: challenge === 'http-01' ? fleet.httpPort : fleet.httpsPort, localAddress: validatorAddress })
    const { hosts } = fleet
    const all = (test: (line: LogLine) => boolean): LogLine[] => hosts.flatMap((h) => h.seraph.lines.filter(test))

    // The first certificate: one host orders it under the lease, the others adopt it.
    const placed = await first(hosts, 'certificate order placed by this host')
    const others = hosts.filter((h) => h !== placed.host)
    // A second host placing an order while the first one runs fails at once (the lease is not held).
    const secondOrder = Promise.any(others.map(async (h) => h.seraph.waitForLine(is('certificate order placed by this host'), `${h.name} orders`, 60_000).then(() => h)))
      .then((h) => { throw new Error(`${h.name} placed an order too before ${placed.host.name} obtained the certificate`) }, () => new Promise<never>(() => {}))
    const failed = placed.host.seraph.waitForLine(is('certificate order failed'), 'a failed order', 60_000)
      .then((l) => { throw new Error(`${placed.host.name}'s order failed: ${String(l.problem)}`) }, () => new Promise<never>(() => {}))
    const obtained = await Promise.race([failed, secondOrder, placed.host.seraph.waitForLine(is('certificate obtained'), `${placed.host.name}: certificate obtained`, 60_000)])
    for (const host of others) await host.seraph.waitForLine(is('certificate adopted from the fleet', obtained.serial), `${host.name} adopts ${String(obtained.serial)}`, 30_000)
    for (const host of hosts) await appliedEverywhere(host.seraph, obtained.serial)
    t.equal(pebble.orders(), 1, 'one order at the CA for the name, not three')
    t.equal(all(is('certificate order placed by this host')).length, 1, `one host placed it (${placed.host.name})`)
    t.equal(all(is('certificate obtained')).length, 1, 'one host obtained it')
    for (const host of others) {
      t.ok(host.seraph.lines.some((l) => l.msg === 'challenge from another host answered here' && l.from === placed.line.host),
        `${host.name} was given ${placed.host.name}'s challenge through the store and answered it`)
    }

    // pebble's validation went through HAProxy to the hosts.
    const afterOrder = await sessions(fleet, backend)
    const issuingConnections = validation.connections()
    t.ok(issuingConnections > 0, `pebble made ${issuingConnections} validation connection(s)`)
    t.equal(sum(afterOrder), issuingConnections, `HAProxy sent each of them to a host: ${[...afterOrder].map(([s, n]) => `${s} ${n}`).join(', ')}`)
    if (challenge === 'http-01') {
      // Each host that HAProxy gave a validation to logs its answer, with the address only HAProxy's PROXY header carried.
      for (const host of hosts) {
        const expected = afterOrder.get(host.name) ?? 0
        if (expected === 0) continue
        const line = await host.seraph.waitForLine((l) => isChallengeAnswer(l) && host.seraph.lines.filter(isChallengeAnswer).indexOf(l) === expected - 1, `${host.name}: ${expected} challenge answer(s)`)
        t.equal(line.remote, validatorAddress, `${host.name} answered pebble's request (${String(line.url)}), from ${validatorAddress} through HAProxy${host === placed.host ? '' : ', though another host placed the order'}`)
      }
    }

    // Every host serves the certificate, asked directly.
    const root = await pebble.root()
    for (const host of hosts) {
      for (let i = 0; i < 3; i++) {
        const probe = await probeHost(host.port, root)
        t.same(probe, { serial: obtained.serial, authorized: true, status: 200 }, `${host.name} serves ${String(obtained.serial)}, trusted for ${name}`)
      }
    }

    // The renewal, under keep-alive and new-connection load through HAProxy that checks the certificate.
    await shortlyBeforeRenewal(hosts.map((host) => host.seraph), obtained.serial)
    const load = startLoad(Buffer.from(root), fleet.httpsPort, { keepAlive: 4, fresh: 2, servername: name })
    t.teardown(() => load.stop())
    await load.answers(50)
    const loadRunning = Date.now()
    const renewed = await first(hosts, 'certificate renewed')
    t.ok(loadRunning < (renewed.line.time as number), `the load was answered ${(renewed.line.time as number) - loadRunning} ms before the renewal`)
    t.not(renewed.line.serial, obtained.serial, `${renewed.host.name} renewed it: a new serial`)
    const expiry = Date.parse(obtained.notAfter as string)
    t.ok((renewed.line.time as number) < expiry - 2_000, `renewed ${expiry - (renewed.line.time as number)} ms before the old certificate expired (the load checks it)`)
    for (const host of hosts.filter((h) => h !== renewed.host)) {
      const adopted = await host.seraph.waitForLine(is('certificate adopted from the fleet', renewed.line.serial), `${host.name} adopts the renewal`, 30_000)
      t.ok((adopted.time as number) - (renewed.line.time as number) < 2_000, `${host.name} adopted it ${(adopted.time as number) - (renewed.line.time as number)} ms after the renewal`)
    }
    for (const host of hosts) await appliedEverywhere(host.seraph, renewed.line.serial)
    await load.answers(50)
    const result = await load.stop()
    t.same(result.errors, [], `no failed request through HAProxy during the renewal (${result.ok} answered)`)
    t.ok(result.keepAliveRequests > result.keepAliveConnections, `keep-alive connections were reused (${result.keepAliveRequests} requests on ${result.keepAliveConnections} connections)`)
    for (const host of hosts) {
      for (let i = 0; i < 3; i++) {
        const probe = await probeHost(host.port, root)
        t.same(probe, { serial: renewed.line.serial, authorized: true, status: 200 }, `${host.name} serves the renewal ${String(renewed.line.serial)}`)
      }
    }
    const through = await Promise.all(hosts.map(async () => (await probeName(fleet.httpsPort, name, root)).serial))
    t.same(through, hosts.map(() => renewed.line.serial), 'new connections through HAProxy get the renewal')

    t.equal(pebble.orders(), 2, 'one more order for the renewal, not three')
    t.equal(all(is('certificate order placed by this host')).length, 2, 'the renewal placed by one host')
    t.equal(all(is('certificate renewed')).length, 1, 'renewed by one host')
    t.ok(validation.connections() > issuingConnections, `the renewal validated through HAProxy too (${validation.connections() - issuingConnections} connection(s))`)
    if (challenge === 'http-01') t.equal(sum(await sessions(fleet, backend)), validation.connections(), 'every validation connection went through HAProxy to a host')
    t.same(all((l) => ['certificate order failed', 'certificate renewal failed', 'challenge not confirmed by every host, asking the CA anyway'].includes(l.msg)), [], 'no failed order, no unconfirmed challenge')
    const waited = hosts.filter((h) => h.seraph.lines.some(is('another host is ordering this certificate, waiting for it'))).map((h) => h.name)
    if (process.env.FLEET_ACME_DEBUG !== undefined) for (const h of hosts) for (const l of h.seraph.lines.filter((l) => l.role === 'primary' && /order|renew|fail|lease|challenge|adopt|obtained|waiting/.test(l.msg))) t.comment(h.name, JSON.stringify(l))
    t.comment(`orders placed by ${placed.host.name} and ${renewed.host.name}; hosts that found the lease taken: ${waited.join(', ') || 'none'}`)
  })
}
