import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { tempDir } from './helpers/certificates.js'
import { devCa } from './helpers/https-client.js'
import { startSeraph } from './helpers/seraph-process.js'
import { probeTls, resumptionRate } from './helpers/tls-probe.js'

const rounds = 100

const kinds = [
  { name: 'TLS 1.3 tickets', version: 'TLSv1.3', noTickets: false },
  { name: 'TLS 1.2 tickets', version: 'TLSv1.2', noTickets: false },
  { name: 'TLS 1.2 session IDs (client without tickets)', version: 'TLSv1.2', noTickets: true }
] as const

t.test('sessions resume on any worker, also after a rolling reload', async (t) => {
  const ca = await devCa()
  const { seraph, port } = await startSeraph(t, ['--workers', '2', '--keep-alive-timeout', '1s'])
  const sessions = new Map<string, Buffer | undefined>()
  for (const kind of kinds) {
    const { resumed, ok, session } = await resumptionRate(port, { ca, ...kind }, rounds)
    t.equal(ok, rounds, `${kind.name}: every request answered`)
    t.ok(resumed >= rounds * 0.99, `${kind.name}: ${resumed}/${rounds} resumed across 2 workers`)
    sessions.set(kind.name, session)
  }
  const servedBy = new Set(seraph.lines.filter((l) => l.msg === 'request').map((l) => l.worker))
  t.equal(servedBy.size, 2, 'both workers took part')

  const before = seraph.liveWorkerPids()
  const done = seraph.nextLine((l) => l.msg === 'reload complete', 'reload complete')
  seraph.signal('SIGHUP')
  await done
  t.notOk(seraph.liveWorkerPids().some((pid) => before.includes(pid)), 'all workers replaced')
  for (const kind of kinds) {
    // Each connection offers the session from before the reload: every one
    // resumes, on whichever new worker it reaches, the first included.
    const session = sessions.get(kind.name)
    const reused = []
    for (let i = 0; i < 10; i++) reused.push((await probeTls(port, { ca, ...kind, session })).reused)
    t.same(reused, Array(10).fill(true), `${kind.name}: the first connection after the reload and the nine after it resume a session from before it`)
    const { resumed } = await resumptionRate(port, { ca, ...kind }, rounds)
    t.ok(resumed >= rounds * 0.99, `${kind.name} after the reload: ${resumed}/${rounds} resumed`)
  }
})

t.test('a ticket from before a key rotation still connects, with a full handshake', async (t) => {
  const ca = await devCa()
  const { seraph, port } = await startSeraph(t, ['--workers', '2', '--ticket-rotate', '1s'])
  const first = await probeTls(port, { ca, version: 'TLSv1.3' })
  const rotated = seraph.nextLine((l) => l.msg === 'session-ticket keys rotated', 'a rotation')
  await rotated
  const after = await probeTls(port, { ca, version: 'TLSv1.3', session: first.session })
  t.equal(after.status, 200, 'the handshake succeeded and the request was answered')
  t.equal(after.reused, false, 'Node keeps one ticket key: the old ticket is not resumed (documented)')
  const again = await probeTls(port, { ca, version: 'TLSv1.3', session: after.session })
  t.equal(again.reused, true, 'the new ticket resumes')
})

t.test('two seraph instances with the same --ticket-key-file resume each other\'s sessions', async (t) => {
  const ca = await devCa()
  const keyFile = join(tempDir(t), 'ticket.key')
  writeFileSync(keyFile, randomBytes(48))
  const a = await startSeraph(t, ['--workers', '1', '--ticket-key-file', keyFile])
  const b = await startSeraph(t, ['--workers', '1', '--ticket-key-file', keyFile])
  for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
    const fromA = await probeTls(a.port, { ca, version })
    const onB = await probeTls(b.port, { ca, version, session: fromA.session })
    t.equal(onB.reused, true, `${version}: a ticket from A resumes on B`)
  }
  const c = await startSeraph(t, ['--workers', '1'])
  const fromA = await probeTls(a.port, { ca, version: 'TLSv1.3' })
  t.equal((await probeTls(c.port, { ca, version: 'TLSv1.3', session: fromA.session })).reused, false, 'without the file: no resumption')
})

t.test('TLS 1.2 session IDs: a session made by one worker resumes at once on any other', async (t) => {
  const ca = await devCa()
  const { port } = await startSeraph(t, ['--workers', '2'])
  const kind = { ca, version: 'TLSv1.2', noTickets: true } as const
  const rounds = 30
  let resumed = 0
  for (let i = 0; i < rounds; i++) {
    // A full handshake makes a new session; the very next connection offers it.
    const fresh = await probeTls(port, kind)
    if ((await probeTls(port, { ...kind, session: fresh.session })).reused) resumed++
  }
  t.equal(resumed, rounds, `${resumed}/${rounds} fresh sessions resumed on the next connection, whichever worker it reached`)
})

t.test('TLS 1.2 session IDs: a handshake that made a session ends only once every worker knows it, even while the primary is slow', async (t) => {
  const ca = await devCa()
  const { seraph, port } = await startSeraph(t, ['--workers', '2'])
  const primary = seraph.lines.find((l) => l.role === 'primary')?.pid
  t.ok(primary, 'the primary logged its pid')
  if (primary === undefined) return
  t.teardown(() => { try { process.kill(primary, 'SIGCONT') } catch {} })
  const kind = { ca, version: 'TLSv1.2', noTickets: true } as const
  const rounds = 10
  let resumed = 0
  for (let i = 0; i < rounds; i++) {
    // The primary stops for 40 ms, as a busy one would: a worker that ended the
    // handshake without waiting for it would let the client come back to a
    // worker that has not heard of the session (and does not ask).
    process.kill(primary, 'SIGSTOP')
    const resume = setTimeout(() => process.kill(primary, 'SIGCONT'), 40)
    const fresh = await probeTls(port, kind)
    const again = await probeTls(port, { ...kind, session: fresh.session })
    clearTimeout(resume)
    process.kill(primary, 'SIGCONT')
    if (again.reused) resumed++
  }
  t.equal(resumed, rounds, `${resumed}/${rounds} resumed on the next connection`)
})
