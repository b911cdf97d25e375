import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { devCa, getFresh } from './helpers/https-client.js'
import { startSeraph, type LogLine, type SeraphProcess } from './helpers/seraph-process.js'

// `_redirects` and `_headers` are part of the site: an edit, a new file or a
// removed one is applied within the file cache's revalidation interval (1 s)
// by every worker, with no signal. Each worker logs the version it applied;
// the test waits for those lines, then asks on fresh connections, which
// either worker may take.

/** Resolves once every listening worker has logged a line after now that passes `test`. */
async function everyWorker (seraph: SeraphProcess, test: (line: LogLine) => boolean, description: string): Promise<void> {
  const seen = seraph.lines.length
  const pids = seraph.liveWorkerPids()
  await Promise.all(pids.map((pid) => seraph.waitForLine((l) => seraph.lines.indexOf(l) >= seen && l.pid === pid && test(l), `${description} from worker ${pid}`)))
}

t.test('an edited, added or removed rules file is applied by every worker within a second, without a signal', async (t) => {
  const dir = t.testdir({ site: { 'index.html': '<p>home</p>', _redirects: '/a /first 302\n' } })
  const root = join(dir, 'site')
  const ca = await devCa()
  const { seraph, port } = await startSeraph(t, ['--workers', '2', '--root', root])
  t.equal(seraph.liveWorkerPids().length, 2)
  // Workers' lines reach the test in batches: their first load may come after 'ready'.
  for (const pid of seraph.liveWorkerPids()) await seraph.waitForLine((l) => l.pid === pid && l.msg === 'site rules loaded' && l.rules === 1, `worker ${pid}'s first load`)
  const ask = async (path: string) => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => getFresh(ca, port, path)))
    return answers.map((a) => [a.status, a.headers.location ?? a.headers['x-robots-tag']])
  }
  t.same(await ask('/a'), Array(6).fill([302, '/first']))

  // Told apart by its rule count: two rules now.
  const edited = everyWorker(seraph, (l) => l.msg === 'site rules loaded' && l.file === '_redirects' && l.rules === 2, 'the edited _redirects')
  const sentAt = Date.now()
  writeFileSync(join(root, '_redirects'), '/a /second 302\n/b /third 301\n')
  await edited
  // The check runs every second; a loaded machine may add some: 5 s is far from any other mechanism.
  t.ok(Date.now() - sentAt < 5000, `applied ${Date.now() - sentAt} ms after the edit`)
  t.same(await ask('/a'), Array(6).fill([302, '/second']))
  t.same(await ask('/b'), Array(6).fill([301, '/third']))

  const added = everyWorker(seraph, (l) => l.msg === 'site rules loaded' && l.file === '_headers', 'the new _headers')
  writeFileSync(join(root, '_headers'), '/*\n  X-Robots-Tag: noindex\n')
  await added
  t.same(await ask('/index.html'), Array(6).fill([200, 'noindex']))

  const removed = everyWorker(seraph, (l) => l.msg === 'site rules removed' && l.file === '_redirects', 'the removal of _redirects')
  rmSync(join(root, '_redirects'))
  await removed
  t.same(await ask('/a'), Array(6).fill([404, 'noindex']))
  // Where nobody cannot read the checkout, the test environment runs the workers as its owner (test/helpers/worker-user.ts): seraph warns if that is root.
  t.same(seraph.lines.filter((l) => l.level >= 40 && !l.msg.startsWith('the workers run as root')), [], 'no warning on the way')
})
