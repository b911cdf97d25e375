import { join } from 'node:path'
import t from 'tap'
import { packageRoot } from '../src/shared/package-info.js'
import { devCa, getFresh } from './helpers/https-client.js'
import { isAlive, startSeraph, waitUntilGone } from './helpers/seraph-process.js'

t.test('a worker killed with SIGKILL is replaced while the others keep answering', async (t) => {
  const ca = await devCa()
  const { seraph, port } = await startSeraph(t, ['--workers', '2'])
  const [victim, survivor] = seraph.liveWorkerPids() as [number, number]
  const died = seraph.nextLine((l) => l.msg === 'worker died unexpectedly' && l.workerPid === victim, 'the death')
  const replaced = seraph.nextLine((l) => l.msg === 'worker listening' && l.workerPid !== survivor, 'a replacement')
  process.kill(victim, 'SIGKILL')
  t.match(await died, { signal: 'SIGKILL' }, 'the primary saw the death and its signal')
  const answers = await Promise.all(Array.from({ length: 20 }, () => getFresh(ca, port, '/healthz')))
  t.ok(answers.every((r) => r.status === 200), 'requests keep being answered meanwhile')
  const replacement = await replaced
  t.not(replacement.workerPid, victim)
  t.equal(seraph.liveWorkerPids().length, 2, 'the worker count is restored')
  t.ok(isAlive(survivor), 'the other worker was not touched')
  t.equal((await getFresh(ca, port, '/')).status, 200)
})

t.test('with one worker, a connection made while it is dead waits in the backlog and is served by its replacement', async (t) => {
  const ca = await devCa()
  const { seraph, port } = await startSeraph(t, ['--workers', '1'])
  const [only] = seraph.liveWorkerPids() as [number]
  const died = seraph.nextLine((l) => l.msg === 'worker died unexpectedly', 'the death')
  process.kill(only, 'SIGKILL')
  await died
  t.same(seraph.liveWorkerPids(), [], 'no worker is running')
  // The primary still holds the listening socket: the connection is queued,
  // not refused.
  const res = await getFresh(ca, port, '/healthz')
  t.equal(res.status, 200)
  const body = JSON.parse(res.body.toString()) as { pid: number }
  t.not(body.pid, only, 'answered by the replacement worker')
})

t.test('a worker whose primary disappears exits', async (t) => {
  const { seraph } = await startSeraph(t, ['--workers', '2'])
  const workers = seraph.liveWorkerPids()
  seraph.signal('SIGKILL')
  await seraph.exited
  t.same(await waitUntilGone(workers), [], 'both workers exited on their own')
})

t.test('an uncaught exception in a worker is logged with context and the worker is replaced; the port stays up', async (t) => {
  const ca = await devCa()
  const fixture = join(packageRoot, 'test', 'fixtures', 'throw-in-worker-on-sigusr2.mjs')
  const { seraph, port } = await startSeraph(t, ['--workers', '2'], { execArgv: ['--import', fixture] })
  const [victim] = seraph.liveWorkerPids() as [number]
  const fatal = seraph.nextLine((l) => l.msg.startsWith('uncaught exception') && l.pid === victim, 'the fatal line')
  const replaced = seraph.nextLine((l) => l.msg === 'worker listening' && l.workerPid !== victim, 'the replacement')
  process.kill(victim, 'SIGUSR2')
  const line = await fatal
  t.match(line, { level: 60, role: 'worker', err: { message: 'test-induced uncaught exception' } })
  const exit = await seraph.waitForLine((l) => l.msg === 'worker died unexpectedly' && l.workerPid === victim, 'the exit')
  t.equal(exit.code, 1)
  await replaced
  t.equal((await getFresh(ca, port, '/healthz')).status, 200)
})
