import { writeFileSync } from 'node:fs'
import t from 'tap'
import { swappableCertificate } from './helpers/certificates.js'
import { readMetrics } from './helpers/admin-metrics.js'
import { startSeraph } from './helpers/seraph-process.js'
import { probeTls } from './helpers/tls-probe.js'

// The primary keeps its own counts in plain fields and builds prom-client's
// metrics from them at the first scrape (cluster-status.ts): these are the
// values a scrape must show after the events that move them.
t.test('the primary\'s metrics count restarts, reloads by result, listening workers and cached TLS sessions', async (t) => {
  const { cert, key, ca } = await swappableCertificate(t)
  const { seraph, port, ready } = await startSeraph(t, ['--workers', '2', '--admin-port', '0', '--cert', cert, '--key', key])
  const adminUrl = ready.adminUrl as string

  const reload = async (): Promise<void> => {
    const done = seraph.nextLine((l) => l.msg === 'reload complete', 'the reload')
    seraph.signal('SIGHUP')
    await done
  }
  const events: Array<[string, () => Promise<unknown>]> = [
    ['a worker killed', async () => {
      const [victim] = seraph.liveWorkerPids() as [number]
      const replaced = seraph.nextLine((l) => l.msg === 'worker listening' && l.workerPid !== victim, 'the replacement')
      process.kill(victim, 'SIGKILL')
      await replaced
    }],
    ['a reload', reload],
    ['a second reload', reload],
    ['a refused reload', async () => {
      writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n')
      const refused = seraph.nextLine((l) => l.msg.startsWith('reload refused'), 'the refusal')
      seraph.signal('SIGHUP')
      await refused
    }]
  ]
  const expected = [
    { restarts: 0, done: undefined, refused: undefined },
    { restarts: 1, done: undefined, refused: undefined },
    { restarts: 1, done: 1, refused: undefined },
    { restarts: 1, done: 2, refused: undefined },
    { restarts: 1, done: 2, refused: 1 }
  ]
  for (let i = 0; i <= events.length; i++) {
    if (i > 0) await events[i - 1]![1]()
    const metrics = await readMetrics(adminUrl)
    const after = i === 0 ? 'at start' : `after ${events[i - 1]![0]}`
    t.equal(metrics.get('seraph_worker_restarts_total'), expected[i]!.restarts, `restarts ${after}`)
    t.equal(metrics.get('seraph_reloads_total{result="done"}'), expected[i]!.done, `completed reloads ${after}`)
    t.equal(metrics.get('seraph_reloads_total{result="refused"}'), expected[i]!.refused, `refused reloads ${after}`)
    t.equal(metrics.get('seraph_workers_listening'), 2, `workers listening ${after}`)
  }

  // A TLS 1.2 session ID is stored by the primary before the handshake ends (tls-sessions.test.ts).
  t.equal((await readMetrics(adminUrl)).get('seraph_tls_session_cache_entries'), 0)
  const probe = await probeTls(port, { ca, version: 'TLSv1.2', noTickets: true })
  t.equal(probe.status, 200)
  t.equal((await readMetrics(adminUrl)).get('seraph_tls_session_cache_entries'), 1, 'the new session is in the shared cache')
})
