import t, { type Test } from 'tap'
import { health, settled } from './helpers/admin-metrics.js'
import { devCa } from './helpers/https-client.js'
import { closes, proxyAttacks, v2Full } from './helpers/proxy-attacks.js'
import { requestThrough, sendAndWait, v1Header, v2Header, v2Tcp } from './helpers/proxy-client.js'
import { startSeraph, type LogLine } from './helpers/seraph-process.js'

// Only 127.0.0.1 is the proxy; 127.0.0.2 is a direct client (all of 127/8 is loopback on Linux).
const flags = ['--workers', '2', '--admin-port', '0', '--redirect-port', '0', '--handshake-timeout', '600ms',
  '--proxy-protocol', '--trusted-proxy', '127.0.0.1/32']

const accessLine = (path: string) => (line: LogLine): boolean => line.msg === 'request' && line.url === path

const ipv6 = Buffer.from('20010db8000000000000000000000005', 'hex')

t.test('PROXY protocol on the HTTPS and redirect ports', async (t) => {
  const ca = await devCa()
  const { seraph, port, ready } = await startSeraph(t, flags)
  const adminUrl = ready.adminUrl as string
  const redirectPort = ready.redirectPort as number
  const pids = (await health(adminUrl)).workers.map((w) => w.pid).sort()

  await t.test('the header\'s source address is the client\'s', async (t) => {
    const cases: Array<[string, Buffer, string]> = [
      ['v1 TCP4', v1Header('192.0.2.7', 51234), '192.0.2.7'],
      ['v1 TCP6', v1Header('2001:db8::7', 1), '2001:db8::7'],
      ['v2 TCP4', v2Full, '198.51.100.9'],
      ['v2 TCP6', v2Tcp(ipv6, 2), '2001:db8::5'],
      ['v2 LOCAL (a health check) keeps the proxy\'s address', v2Header(0, 0x00, Buffer.alloc(0)), '127.0.0.1']
    ]
    for (const [i, [name, header, client]] of cases.entries()) {
      const answer = await requestThrough(port, header, ca, `/healthz?case=${i}`)
      t.match(answer, /^HTTP\/1\.1 200 /, `${name}: served`)
      const line = await seraph.waitForLine(accessLine(`/healthz?case=${i}`), `the access line of ${name}`)
      t.equal(line.remote, client, `${name}: the access line shows ${client}`)
    }
    const direct = await requestThrough(port, undefined, ca, '/healthz?direct', '127.0.0.2')
    t.match(direct, /^HTTP\/1\.1 200 /, 'an untrusted client without a header is served directly')
    t.equal((await seraph.waitForLine(accessLine('/healthz?direct'), 'the direct access line')).remote, '127.0.0.2')
    const redirect = await requestThrough(redirectPort, v1Header('203.0.113.4', 999), undefined, '/r')
    t.match(redirect, /^HTTP\/1\.1 301 /, 'the redirect port reads the header too')
    t.match(await seraph.waitForLine(accessLine('/r'), 'the redirect access line'), { scheme: 'http', remote: '203.0.113.4' })
    const redirectV2 = await requestThrough(redirectPort, v2Full, undefined, '/r2')
    t.match(redirectV2, /^HTTP\/1\.1 301 /)
    t.match(await seraph.waitForLine(accessLine('/r2'), 'the redirect access line'), { remote: '198.51.100.9' })
  })

  for (const listener of ['https', 'redirect'] as const) {
    for (const attack of proxyAttacks) {
      await t.test(`${listener}: ${attack.name}`, async (t: Test) => {
        const target = listener === 'https' ? port : redirectPort
        const before = await settled(adminUrl)
        const results = await Promise.all(Array.from({ length: 10 }, () => attack.run(target)))
        t.ok(results.every((r) => r.answered === 0), 'closed without an answer')
        // A slow header is cut at the handshake timeout (600 ms), not when it would complete (2.7 s).
        if (attack.reason === 'timeout') t.ok(results.every((r) => r.ms >= 550 && r.ms < 2000), `closed on time: ${results.map((r) => r.ms).join(' ')}`)
        const after = await settled(adminUrl)
        t.same(closes(after, before), { [`proxy_protocol: ${attack.reason}`]: 10 }, 'each counted once, under proxy_protocol')
        t.same((await health(adminUrl)).workers.map((w) => w.pid).sort(), pids, 'same worker pids: no crash')
        t.match(await requestThrough(port, v1Header('192.0.2.8', 1), ca), /^HTTP\/1\.1 200 /, 'the proxy is still served')
      })
    }
  }

  await t.test('a direct client that sends nothing is timed out as without --proxy-protocol', async (t) => {
    for (const [listener, target, reason] of [['https', port, 'handshake'], ['redirect', redirectPort, 'headers']] as const) {
      const before = await settled(adminUrl)
      const { answered } = await sendAndWait(target, [], { localAddress: '127.0.0.2' })
      t.equal(answered, 0, `${listener}: closed without an answer`)
      t.same(closes(await settled(adminUrl), before), { [`timeout: ${reason}`]: 1 }, `${listener}: counted as a ${reason} timeout`)
    }
  })

  await t.test('refusals are logged, rate-limited, with the address and the reason', async (t) => {
    const refused = seraph.lines.filter((l) => l.msg === 'proxy protocol: connection refused')
    t.match(refused.find((l) => l.reason === 'untrusted'), { level: 40, cause: 'proxy_protocol', remote: /^127\.0\.0\.2:\d+$/ })
    t.ok(refused.some((l) => l.listener === 'redirect'), 'on the redirect port too')
    // 10 lines per reason, worker and listener in each 10 s window.
    const windows = Math.ceil((Date.now() - (ready.time as number)) / 10_000) + 1
    for (const reason of ['untrusted', 'missing', 'too_long', 'malformed']) {
      const count = refused.filter((l) => l.reason === reason).length
      t.ok(count > 0 && count <= 2 * 2 * 10 * windows, `${reason}: ${count} lines`)
    }
    t.notOk(seraph.lines.some((l) => l.role === 'worker' && (l.level >= 50 || typeof l.err === 'object')), 'no error or stack trace')
  })

  seraph.signal('SIGTERM')
  t.equal((await seraph.exited).code, 0)
  t.same(seraph.badLines, [])
})
