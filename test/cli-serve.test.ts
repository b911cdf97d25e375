import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { bundledPublicDir } from '../src/shared/package-info.js'
import { devCa, get, getFresh, keepAliveAgent } from './helpers/https-client.js'
import { isAlive, runSeraph, startSeraph, waitUntilGone } from './helpers/seraph-process.js'

t.test('the CLI with 2 workers: ready line, the blog over HTTPS, both workers serve, SIGTERM exits 0', async (t) => {
  const ca = await devCa()
  const { seraph, port, ready } = await startSeraph(t, ['--workers', '2'])

  t.ok(Number.isInteger(port) && port > 0, 'the ready line has the real port, not 0')
  t.equal(ready.workers, 2)
  t.equal(ready.url, `https://127.0.0.1:${port}/`)
  t.equal(ready.role, 'primary')
  t.equal(seraph.liveWorkerPids().length, 2, 'two workers listen')

  const home = await getFresh(ca, port, '/')
  t.equal(home.status, 200)
  t.same(home.body, readFileSync(join(bundledPublicDir, 'index.html')), 'GET / returns public/index.html byte for byte')

  // Fresh connections until the access log shows both workers; the workers
  // share one accept queue, so a handful of concurrent connections suffice.
  const servedBy = new Set<number>()
  for (let round = 0; round < 20 && servedBy.size < 2; round++) {
    const before = seraph.lines.length
    await Promise.all(Array.from({ length: 8 }, () => getFresh(ca, port, '/healthz')))
    await seraph.waitForLine((l) => l.msg === 'request' && seraph.lines.indexOf(l) >= before && l.url === '/healthz', 'access line')
    for (const line of seraph.lines.slice(before)) if (line.msg === 'request') servedBy.add(line.worker as number)
  }
  t.equal(servedBy.size, 2, `requests on fresh connections were served by both workers (${[...servedBy].join(', ')})`)

  // Load over keep-alive and fresh connections at once; every stdout line must
  // still be one whole JSON object (no interleaving between workers).
  const agent = keepAliveAgent(ca)
  t.teardown(() => agent.close())
  const statuses = await Promise.all([
    ...Array.from({ length: 150 }, (_, i) => get(agent, port, i % 2 === 0 ? '/css/style.css' : '/').then((r) => r.status)),
    ...Array.from({ length: 30 }, () => getFresh(ca, port, '/feed.xml').then((r) => r.status))
  ])
  t.ok(statuses.every((s) => s === 200), 'all 180 requests answered 200')
  const count = (url: string): number => seraph.lines.filter((l) => l.msg === 'request' && l.url === url).length
  // Workers batch their log lines (flushed at least every second).
  await seraph.waitForLine(() => count('/css/style.css') >= 75 && count('/feed.xml') >= 30, 'all access lines')
  const access = seraph.lines.filter((l) => l.msg === 'request' && l.url === '/css/style.css')
  t.equal(access.length, 75, 'one access line per request')
  t.equal(count('/feed.xml'), 30)
  const sample = access[0]!
  t.match(sample, { role: 'worker', method: 'GET', status: 200, bytes: Number, ms: Number, worker: Number, pid: Number })
  t.same(seraph.badLines, [], 'no interleaved or partial log lines')

  const workers = seraph.liveWorkerPids()
  seraph.signal('SIGTERM')
  const { code, signal } = await seraph.closed
  t.equal(code, 0, 'SIGTERM: exit code 0')
  t.equal(signal, null)
  t.same(await waitUntilGone(workers), [], 'no worker outlives the primary')
  t.ok(seraph.lines.some((l) => l.msg === 'exited' && l.role === 'primary'))
  t.equal(seraph.stderr, '', 'nothing on stderr')
})

t.test('SIGINT (Ctrl-C, also delivered to every worker) stops cleanly with exit code 0', async (t) => {
  const { seraph } = await startSeraph(t, ['--workers', '2'])
  const workers = seraph.liveWorkerPids()
  // A terminal's Ctrl-C signals the whole process group: emulate it.
  // A worker may already be gone when its turn comes (ESRCH): it stopped, as it should.
  for (const pid of [seraph.child.pid!, ...workers]) {
    try {
      process.kill(pid, 'SIGINT')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
    }
  }
  const { code } = await seraph.closed
  t.equal(code, 0)
  t.same(await waitUntilGone(workers), [])
  t.notOk(workers.some(isAlive))
})

t.test('--help and --version print and exit 0', async (t) => {
  const help = await runSeraph(t, ['--help'])
  t.equal(help.code, 0)
  t.match(help.seraph.badLines.join('\n'), /--port N/)
  t.match(help.seraph.badLines.join('\n'), /SERAPH_WORKERS/)
  const version = await runSeraph(t, ['--version'])
  t.equal(version.code, 0)
  const pkg = JSON.parse(readFileSync(join(bundledPublicDir, '..', 'package.json'), 'utf8')) as { version: string }
  t.same(version.seraph.badLines, [pkg.version])
})

t.test('--log-level warn: the ready line is still printed, access lines are not', async (t) => {
  const ca = await devCa()
  const { seraph, port, ready } = await startSeraph(t, ['--workers', '1', '--log-level', 'warn'])
  t.equal(ready.port, port)
  t.equal((await getFresh(ca, port, '/')).status, 200)
  seraph.signal('SIGTERM')
  t.equal((await seraph.closed).code, 0)
  t.same(seraph.lines.filter((l) => l.msg !== 'ready' && (l.level as number) < 40), [], 'only the ready line is below warn')
})
