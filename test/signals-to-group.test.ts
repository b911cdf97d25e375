import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { makeCertificate, tempDir } from './helpers/certificates.js'
import { startSeraph, type SeraphProcess } from './helpers/seraph-process.js'
import { probeTls } from './helpers/tls-probe.js'

// A terminal's Ctrl-C and a process manager's tree kill signal every process
// of the group, the workers included. Each signal must still act once.

const flags = ['--workers', '2', '--keep-alive-timeout', '1s', '--shutdown-timeout', '3s']

/** Sends `signal` to the whole process group, as a terminal or a tree kill does. */
function signalGroup (seraph: SeraphProcess, signal: NodeJS.Signals): void {
  process.kill(-(seraph.child.pid as number), signal)
}

const died = (seraph: SeraphProcess): number => seraph.lines.filter((l) => l.msg === 'worker died unexpectedly').length

t.test('SIGHUP to the group is one rolling reload; no worker dies of it', async (t) => {
  const { seraph } = await startSeraph(t, flags)
  const before = seraph.liveWorkerPids()
  const done = seraph.nextLine((l) => l.msg === 'reload complete', 'reload complete')
  const oldExited = Promise.all(before.map((pid) => seraph.nextLine((l) => l.msg === 'worker exited' && l.workerPid === pid, `worker ${pid} exited`)))
  signalGroup(seraph, 'SIGHUP')
  await done
  await oldExited
  t.equal(seraph.lines.filter((l) => l.msg === 'signal received: rolling reload').length, 1, 'the primary reloaded once')
  t.equal(seraph.lines.filter((l) => l.msg === 'worker forked' && l.replacesPid !== undefined).length, 2, 'two replacements, one per worker')
  t.equal(died(seraph), 0, 'no worker died of the signal: the old ones drained and exited')
  t.equal(seraph.liveWorkerPids().length, 2)
})

t.test('SIGUSR2 to the group is one certificate reload in every worker; no worker dies of it', async (t) => {
  const dir = tempDir(t)
  const pair = await makeCertificate(dir, 'pair')
  const { seraph, port } = await startSeraph(t, [...flags, '--cert', pair.cert, '--key', pair.key])
  const workers = seraph.liveWorkerPids()
  const applied = Promise.all(workers.map((pid) => seraph.nextLine((l) => l.msg === 'certificate reloaded' && l.pid === pid, `worker ${pid} applied it`)))
  signalGroup(seraph, 'SIGUSR2')
  await applied
  // One more round trip through each worker's IPC: a second reload would have come by now.
  t.equal((await probeTls(port, { ca: readFileSync(join(dir, 'pair', 'ca.pem')), version: 'TLSv1.3' })).status, 200)
  t.equal(seraph.lines.filter((l) => l.msg === 'certificate reload').length, 1, 'the primary re-read the certificate once')
  t.equal(seraph.lines.filter((l) => l.msg === 'certificate reloaded').length, 2, 'each worker applied it once')
  t.equal(died(seraph), 0, 'no worker died of the signal')
  t.same(seraph.liveWorkerPids(), workers, 'the same workers')
})

t.test('SIGTERM to the group is one graceful shutdown: every worker drains, exit 0', async (t) => {
  const { seraph } = await startSeraph(t, flags)
  signalGroup(seraph, 'SIGTERM')
  const { code } = await seraph.closed
  t.equal(code, 0, 'exit code 0')
  t.equal(seraph.lines.filter((l) => l.msg === 'drained').length, 2, 'both workers drained')
  t.notOk(seraph.lines.some((l) => /forc/.test(l.msg)), 'nothing was forced')
  t.equal(died(seraph), 0)
})
