import { readdirSync } from 'node:fs'
import { connect } from 'node:net'
import t from 'tap'
import { health, readMetrics, settled } from './helpers/admin-metrics.js'
import { startFleet } from './helpers/fleet.js'
import { closes, proxyAttacks, v2Full } from './helpers/proxy-attacks.js'
import { requestThrough } from './helpers/proxy-client.js'

/** Open file descriptors of `pid`. */
function fds (pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}

// test/proxy-protocol.test.ts covers each attack on a lone host; here they hit
// a fleet host straight on its ports, past HAProxy, while HAProxy's checks go
// on, and every process must end with the file descriptors it had before.
t.test('PROXY protocol abuse straight at a fleet host: each closed and counted, no crash, fds back to baseline', async (t) => {
  const fleet = await startFleet(t, { hosts: 2, args: ['--handshake-timeout', '600ms'] })
  const host = fleet.hosts[0]!
  const pids = async (): Promise<number[]> => [host.seraph.child.pid as number, ...(await health(host.adminUrl)).workers.map((w) => w.pid).sort()]
  const before = await pids()
  const ports = { https: host.port, redirect: host.redirectPort }
  const runAll = async (times: number): Promise<void> => {
    for (const attack of proxyAttacks) {
      for (const [listener, port] of Object.entries(ports)) {
        const results = await Promise.all(Array.from({ length: times }, () => attack.run(port)))
        t.ok(results.every((r) => r.answered === 0), `${listener}: ${attack.name}: closed without an answer`)
      }
    }
  }
  // One round first: whatever a worker allocates once (log batcher, warning limiter) is in the baseline.
  await runAll(1)
  await settled(host.adminUrl)
  const baseline = new Map((await pids()).map((pid) => [pid, fds(pid)]))
  const metricsBefore = await readMetrics(host.adminUrl)

  await runAll(10)
  const after = await settled(host.adminUrl)
  const expected: Record<string, number> = {}
  for (const attack of proxyAttacks) expected[`proxy_protocol: ${attack.reason}`] = (expected[`proxy_protocol: ${attack.reason}`] ?? 0) + 10
  // The redirect port counts only what it refuses; together: 20 of each attack.
  const counted = closes(after, metricsBefore, 'proxy_protocol')
  t.same(counted, Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, v * 2])), 'each counted once under its close cause (both ports)')
  t.same(await pids(), before, 'same primary and workers: no crash')

  // Descriptors come back as the last sockets close (HAProxy's checks come and go: poll).
  const deadline = Date.now() + 5_000
  let now = new Map([...baseline.keys()].map((pid) => [pid, fds(pid)]))
  while ([...now].some(([pid, n]) => n > baseline.get(pid)!) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    now = new Map([...baseline.keys()].map((pid) => [pid, fds(pid)]))
  }
  // At most the baseline: a HAProxy check connection open when it was taken may have closed since.
  t.same([...now].filter(([pid, n]) => n > baseline.get(pid)!), [], `file descriptors back to baseline or below: ${JSON.stringify(Object.fromEntries(now))} (baseline ${JSON.stringify(Object.fromEntries(baseline))})`)
  t.match(await requestThrough(fleet.httpsPort, undefined, fleet.ca, '/healthz?after-abuse', '127.0.0.5'), /^HTTP\/1\.1 200 /, 'the fleet still serves through HAProxy')
  t.match(await requestThrough(host.port, undefined, fleet.ca, '/healthz?direct', '127.0.0.2'), /^HTTP\/1\.1 200 /, 'an untrusted client without a header is still served directly')
  t.notOk(host.seraph.lines.some((l) => l.level >= 50 || typeof l.err === 'object'), 'no error or stack trace')

  // socket.remoteAddress is undefined once the peer has reset: such a
  // connection from the proxy was once refused as `untrusted` (logged with
  // remote "unknown"); it is a client reset.
  await t.test('a connection from the trusted proxy reset right after its header', async (t) => {
    const before = await settled(host.adminUrl)
    for (let i = 0; i < 50; i++) {
      await new Promise<void>((resolve) => {
        const socket = connect(host.port, '127.0.0.1', () => { socket.write(v2Full); socket.resetAndDestroy(); resolve() })
        socket.on('error', () => {})
      })
    }
    const after = await settled(host.adminUrl)
    t.same(closes(after, before, 'proxy_protocol'), {}, 'is a client reset, not a PROXY protocol refusal')
  })
})
