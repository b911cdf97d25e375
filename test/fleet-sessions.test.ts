import t from 'tap'
import { listen, startFleet } from './helpers/fleet.js'
import { requestThrough } from './helpers/proxy-client.js'
import { probeTls } from './helpers/tls-probe.js'

// Three seraph hosts (2 workers each) behind HAProxy (roundrobin, send-proxy-v2), one Redis: helpers/fleet.ts.
t.test('a fleet of three hosts behind HAProxy', async (t) => {
  const fleet = await startFleet(t)
  const ca = fleet.ca as Buffer

  await t.test('every host logs the client\'s address (127.0.0.5), not HAProxy\'s', async (t) => {
    const urls: string[] = []
    for (let i = 0; i < 6; i++) {
      const url = `/index.html?client=${i}`
      t.match(await requestThrough(fleet.httpsPort, undefined, ca, url, '127.0.0.5'), /^HTTP\/1\.1 200 /, `HTTPS request ${i}`)
      urls.push(url)
    }
    for (let i = 0; i < 3; i++) {
      const url = `/redirected?client=${i}`
      t.match(await requestThrough(fleet.httpPort, undefined, undefined, url, '127.0.0.5'), /^HTTP\/1\.1 301 /, `plain HTTP request ${i} is redirected`)
      urls.push(url)
    }
    const servedBy = await Promise.all(urls.map((url) => fleet.hostOf(url)))
    t.same(new Set(servedBy.map((h) => h.name)), new Set(['h1', 'h2', 'h3']), 'requests reached all three hosts')
    for (const host of fleet.hosts) {
      const mine = host.seraph.lines.filter((l) => l.msg === 'request' && urls.includes(l.url as string))
      t.ok(mine.length >= 2, `${host.name} served ${mine.length} of them`)
      t.ok(mine.some((l) => l.scheme === 'http'), `${host.name} served a redirect too`)
      t.same(mine.filter((l) => l.remote !== '127.0.0.5'), [], `${host.name}: every access line shows 127.0.0.5`)
      t.notOk(host.seraph.lines.some((l) => l.msg === 'proxy protocol: connection refused'), `${host.name}: nothing refused`)
    }
  })

  const kinds = [
    { name: 'TLS 1.3 tickets', version: 'TLSv1.3', noTickets: false },
    { name: 'TLS 1.2 tickets', version: 'TLSv1.2', noTickets: false },
    { name: 'TLS 1.2 session IDs (tickets disabled on the client)', version: 'TLSv1.2', noTickets: true }
  ] as const
  for (const [k, kind] of kinds.entries()) {
    await t.test(`${kind.name} made by one host resume on the others: 20 of 20`, async (t) => {
      const rounds = 20
      // Session IDs are announced to every host on this channel (tickets need nothing but the fleet's keys).
      const announced = await listen(t, fleet, 'sessions')
      // Twenty full handshakes, spread by roundrobin over the three hosts…
      const made: Array<{ url: string, session: Buffer | undefined }> = []
      for (let i = 0; i < rounds; i++) {
        const url = `/healthz?kind=${k}&made=${i}`
        const full = await probeTls(fleet.httpsPort, { ca, version: kind.version, noTickets: kind.noTickets, path: url })
        t.equal(full.reused, false)
        made.push({ url, session: full.session })
      }
      t.ok(made.every((m) => m.session !== undefined), 'every host gave a session')
      // …then the twenty returning clients, each offering its session, in the same
      // order: roundrobin (20 = 2 mod 3) sends each to another host than its own.
      if (kind.noTickets) await announced.received(rounds)
      const resumed: Array<{ url: string, reused: boolean, status: number }> = []
      for (const [i, { session }] of made.entries()) {
        const url = `/healthz?kind=${k}&resumed=${i}`
        const again = await probeTls(fleet.httpsPort, { ca, version: kind.version, noTickets: kind.noTickets, path: url, ...(session === undefined ? {} : { session }) })
        resumed.push({ url, reused: again.reused, status: again.status })
      }
      const from = await Promise.all(made.map((m) => fleet.hostOf(m.url)))
      const to = await Promise.all(resumed.map((r) => fleet.hostOf(r.url)))
      t.equal(resumed.filter((_, i) => from[i] !== to[i]).length, rounds, 'every returning client reached another host than the one that made its session')
      t.equal(resumed.filter((r) => r.status === 200).length, rounds, 'every request answered')
      t.equal(resumed.filter((r) => r.reused).length, rounds, `${resumed.filter((r) => r.reused).length} of ${rounds} resumed`)
      t.same(new Set(to.map((h) => h.name)), new Set(['h1', 'h2', 'h3']), 'every host resumed sessions the others made')
    })
  }
  t.notMatch(fleet.haproxy.output(), /is DOWN/, 'HAProxy never took a host out: roundrobin went round all three')
})
