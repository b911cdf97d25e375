import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { chmodSync, mkdirSync, realpathSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { tempDir } from './helpers/certificates.js'
import { devCa } from './helpers/https-client.js'
import { RawHttp1Connection } from './helpers/raw-http1.js'
import { startSeraph, type SeraphProcess } from './helpers/seraph-process.js'
import { connectToEachWorker, openHttp1, openHttp2, openSession, type Answer, type WorkerConnection } from './helpers/worker-connections.js'

// A deploy as blog owners do it (and as nginx and Caddy serve it): --root is
// a link, `current -> releases/1`; the next release is written beside it and
// the link is repointed atomically (`ln -sfn` to a temporary name, then
// `mv -T`, one rename(2)). Through the built CLI with two workers, over both
// fast paths (HTTP/1.1 and HTTP/2 are different code).

/** What a change must take at most to be served by every worker. */
const promiseMs = 1000
/** How long a poll goes on after the promise, so a late answer says how late. */
const giveUpMs = 5000
// Larger than the file cache takes (1 MiB) and than loopback's socket
// buffers: the download is still streaming from disk when the root moves.
const bigFileBytes = 32 * 1024 * 1024

interface Expectation {
  readonly path: string
  readonly headers?: Record<string, string>
  readonly what: string
  readonly holds: (answer: Answer) => boolean
}

const serves = (path: string, text: string): Expectation => ({
  path, what: `${path} serves "${text}"`, holds: (a) => a.status === 200 && a.body.toString() === text
})
const missing = (path: string, notFoundPage: string): Expectation => ({
  path, what: `${path} is 404 (with "${notFoundPage}")`, holds: (a) => a.status === 404 && a.body.toString() === notFoundPage
})

interface Sighting {
  /** Per worker and expectation: ms from `since` to the first answer that met it; undefined if none did before giving up. */
  readonly firstMs: Map<string, number | undefined>
  /** An answer that failed an expectation the same worker had already met: the old state served again. */
  readonly regressions: string[]
}

/**
 * Polls every worker for every expectation until each worker meets all of
 * them (or `giveUpMs` passes). Polling is what a visitor sees: no event
 * says when a worker serves the new file. Once met, an expectation must stay
 * met on that worker.
 */
async function watchUntilSeen (connections: readonly WorkerConnection[], expectations: readonly Expectation[], since: number): Promise<Sighting> {
  const firstMs = new Map<string, number | undefined>()
  const regressions: string[] = []
  const key = (connection: WorkerConnection, expectation: Expectation): string => `worker ${connection.worker}: ${expectation.what}`
  for (const c of connections) for (const e of expectations) firstMs.set(key(c, e), undefined)
  while ([...firstMs.values()].includes(undefined) && Date.now() - since < giveUpMs) {
    for (const connection of connections) {
      for (const expectation of expectations) {
        const answer = await connection.get(expectation.path, expectation.headers)
        const name = key(connection, expectation)
        if (expectation.holds(answer)) {
          if (firstMs.get(name) === undefined) firstMs.set(name, Date.now() - since)
        } else if (firstMs.get(name) !== undefined) {
          regressions.push(`${name}: then ${answer.status} "${answer.body.subarray(0, 40).toString()}"`)
        }
      }
    }
    // A poll every few milliseconds is what a busy blog gets, without keeping a shared core busy.
    await delay(5)
  }
  return { firstMs, regressions }
}

function assertSeenInTime (t: Test, sighting: Sighting, change: string): void {
  for (const [name, ms] of sighting.firstMs) {
    t.ok(ms !== undefined && ms <= promiseMs, `${change}: ${name} within ${promiseMs} ms (after ${ms === undefined ? `more than ${giveUpMs}` : ms} ms)`)
  }
  t.same(sighting.regressions, [], `${change}: no worker went back to what it served before`)
}

interface Deployment {
  readonly dir: string
  readonly releases: string
  readonly oldBig: Buffer
  readonly newBig: Buffer
}

/** releases/1 and releases/2 (its successor, with a link back into release 1), `current -> releases/1`. Readable by `nobody`. */
function makeDeployment (t: Test, bigBytes = bigFileBytes): Deployment {
  const dir = tempDir(t)
  // mkdtemp makes it 0700: workers may run as nobody.
  chmodSync(dir, 0o755)
  const releases = join(dir, 'releases')
  const one = join(releases, '1')
  const two = join(releases, '2')
  mkdirSync(one, { recursive: true })
  mkdirSync(two)
  const oldBig = randomBytes(bigBytes)
  const newBig = randomBytes(bigBytes)
  writeFileSync(join(one, 'index.html'), 'home of release 1')
  writeFileSync(join(one, 'changed.html'), 'changed.html of release 1')
  writeFileSync(join(one, 'only-in-1.txt'), 'only in release 1')
  writeFileSync(join(one, 'edit.html'), 'before the edit')
  writeFileSync(join(one, 'gone.html'), 'about to be deleted')
  writeFileSync(join(one, '404.html'), 'not found (release 1)')
  writeFileSync(join(one, 'big.bin'), oldBig)
  writeFileSync(join(two, 'index.html'), 'home of release 2')
  writeFileSync(join(two, 'changed.html'), 'changed.html of release 2')
  writeFileSync(join(two, 'only-in-2.txt'), 'only in release 2')
  writeFileSync(join(two, '404.html'), 'not found (release 2)')
  writeFileSync(join(two, 'big.bin'), newBig)
  // A link the new release keeps into the old one: outside the new root.
  symlinkSync('../1/only-in-1.txt', join(two, 'back-to-1.txt'))
  symlinkSync('releases/1', join(dir, 'current'))
  return { dir, releases, oldBig, newBig }
}

/** The slow download: headers read, body left unread until `finish()`. */
interface Download { readonly status: number, readonly length: number, finish (): Promise<Buffer> }

async function startHttp1Download (t: Test, port: number, ca: Buffer): Promise<Download> {
  const connection = await RawHttp1Connection.open(port, ca)
  t.teardown(() => connection.close())
  connection.send('/big.bin')
  const head = await connection.readHead()
  connection.socket.pause()
  return {
    status: head.status,
    length: Number(head.headers['content-length']),
    finish: () => {
      connection.socket.resume()
      return connection.readBody(head.headers)
    }
  }
}

async function startHttp2Download (t: Test, port: number, ca: Buffer): Promise<Download> {
  const session = await openSession(port, ca)
  t.teardown(() => session.destroy())
  const stream = session.request({ ':path': '/big.bin' })
  stream.end()
  const [headers] = await once(stream, 'response') as [Record<string, string>]
  // No 'data' listener yet: the stream stays paused and HTTP/2 flow control stops the server.
  stream.pause()
  return {
    status: Number(headers[':status']),
    length: Number(headers['content-length']),
    finish: async () => {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.resume()
      await once(stream, 'end')
      return Buffer.concat(chunks)
    }
  }
}

/** The worker's line about the root's move, from each of `pids`. */
function rootMoves (seraph: SeraphProcess, pids: readonly number[]) {
  return Promise.all(pids.map((pid) => seraph.waitForLine((l) => l.pid === pid && l.msg.startsWith('root moved'), `worker ${pid}'s root moved line`)))
}

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

/** The recipe, with the very commands a user runs; resolves when the rename is done. */
function swapToRelease2 (dir: string): number {
  execFileSync('ln', ['-sfn', 'releases/2', 'current.tmp'], { cwd: dir })
  execFileSync('mv', ['-T', 'current.tmp', 'current'], { cwd: dir })
  return Date.now()
}

for (const protocol of ['HTTP/1.1', 'HTTP/2'] as const) {
  t.test(`${protocol}: edits, new and deleted files, then a symlink swap of --root: each served by both workers within a second`, async (t) => {
    const deployment = makeDeployment(t)
    const { dir } = deployment
    const current = join(dir, 'current')
    const ca = await devCa()
    const { seraph, port } = await startSeraph(t, ['--workers', '2', '--root', current])
    const open = protocol === 'HTTP/1.1' ? openHttp1(port, ca) : openHttp2(port, ca)
    const connections = await connectToEachWorker(t, open, 2)

    // Every worker holds release 1's answers in its cache before anything changes (a second GET comes from memory).
    const release1 = [
      serves('/', 'home of release 1'), serves('/changed.html', 'changed.html of release 1'), serves('/only-in-1.txt', 'only in release 1'),
      serves('/edit.html', 'before the edit'), serves('/gone.html', 'about to be deleted'), missing('/new.html', 'not found (release 1)')
    ]
    for (const connection of connections) {
      for (const expectation of [...release1, ...release1]) {
        t.ok(expectation.holds(await connection.get(expectation.path)), `before: worker ${connection.worker}: ${expectation.what}`)
      }
    }

    // The worst case each time: the answer was checked against the disk just before the change.
    const justChecked = async (path: string): Promise<void> => { for (const connection of connections) await connection.get(path) }
    await justChecked('/edit.html')
    writeFileSync(join(current, 'edit.html'), 'after the edit')
    assertSeenInTime(t, await watchUntilSeen(connections, [serves('/edit.html', 'after the edit')], Date.now()), 'a file edited in place')
    await justChecked('/new.html')
    writeFileSync(join(current, 'new.html'), 'a new page')
    assertSeenInTime(t, await watchUntilSeen(connections, [serves('/new.html', 'a new page')], Date.now()), 'a new file')
    await justChecked('/gone.html')
    unlinkSync(join(current, 'gone.html'))
    assertSeenInTime(t, await watchUntilSeen(connections, [missing('/gone.html', 'not found (release 1)')], Date.now()), 'a deleted file')

    const download = protocol === 'HTTP/1.1' ? await startHttp1Download(t, port, ca) : await startHttp2Download(t, port, ca)
    t.equal(download.status, 200, 'a download of release 1\'s large file has started')
    t.equal(download.length, bigFileBytes)

    const swapped = swapToRelease2(dir)
    const newRange = deployment.newBig.subarray(0, 16)
    const release2 = [
      serves('/', 'home of release 2'),
      serves('/changed.html', 'changed.html of release 2'),
      serves('/only-in-2.txt', 'only in release 2'),
      missing('/only-in-1.txt', 'not found (release 2)'),
      missing('/edit.html', 'not found (release 2)'),
      missing('/new.html', 'not found (release 2)'),
      { path: '/big.bin', headers: { range: 'bytes=0-15' }, what: '/big.bin bytes 0-15 are release 2\'s', holds: (a: Answer) => a.status === 206 && a.body.equals(newRange) }
    ]
    assertSeenInTime(t, await watchUntilSeen(connections, release2, swapped), 'the swap of current to releases/2')

    const refusedBack = missing('/back-to-1.txt', 'not found (release 2)')
    for (const connection of connections) {
      t.ok(refusedBack.holds(await connection.get(refusedBack.path)), `worker ${connection.worker}: a link from release 2 into release 1 is outside the new root`)
    }

    const body = await download.finish()
    t.equal(body.length, bigFileBytes, 'the download in flight across the swap completed')
    t.equal(sha(body), sha(deployment.oldBig), 'with release 1\'s bytes, intact')

    const workerPids = seraph.liveWorkerPids()
    t.equal(workerPids.length, 2)
    const moves = await rootMoves(seraph, workerPids)
    const from = realpathSync(join(deployment.releases, '1'))
    const to = realpathSync(join(deployment.releases, '2'))
    for (const line of moves) t.match(line, { level: 30, role: 'worker', from, to }, `worker ${line.pid} logged the move at info, old and new real path`)

    // Each worker refused /back-to-1.txt once; any earlier refusal of a worker is logged before it.
    await Promise.all(workerPids.map((pid) => seraph.waitForLine((l) => l.pid === pid && l.msg.startsWith('refused a file') && l.path === '/back-to-1.txt', `worker ${pid}'s refusal of /back-to-1.txt`)))
    const refused = seraph.lines.filter((l) => l.msg.startsWith('refused a file'))
    t.same([...new Set(refused.map((l) => l.path))], ['/back-to-1.txt'], 'no file of either release was refused as outside the root; only the link back')
    t.ok(refused.every((l) => l.reason === 'outside-root'))
  })
}

for (const protocol of ['HTTP/1.1', 'HTTP/2'] as const) {
  t.test(`${protocol}: a worker with no traffic sees the swap by itself; once it has, not even its first answers are the old release's`, async (t) => {
    const { dir, releases } = makeDeployment(t, 1024)
    const ca = await devCa()
    const { seraph, port } = await startSeraph(t, ['--workers', '2', '--root', join(dir, 'current')])
    const connections = await connectToEachWorker(t, protocol === 'HTTP/1.1' ? openHttp1(port, ca) : openHttp2(port, ca), 2)
    const release1 = [serves('/', 'home of release 1'), serves('/changed.html', 'changed.html of release 1'), missing('/only-in-2.txt', 'not found (release 1)')]
    // Cached and just checked: each would be served as it is for most of a second more.
    for (const connection of connections) {
      for (const expectation of [...release1, ...release1]) t.ok(expectation.holds(await connection.get(expectation.path)), `before: worker ${connection.worker}: ${expectation.what}`)
    }
    const swapped = swapToRelease2(dir)
    // No request until every worker said it moved: only its own timer can
    // have seen the swap. A line reaches stdout within a second (workers batch them).
    const moves = await rootMoves(seraph, seraph.liveWorkerPids())
    const lineMs = Date.now() - swapped
    t.ok(lineMs <= promiseMs + 1000, `both workers logged the move within a second, plus a second for their log batches (${lineMs} ms)`)
    for (const line of moves) t.match(line, { from: realpathSync(join(releases, '1')), to: realpathSync(join(releases, '2')) })
    const release2 = [serves('/', 'home of release 2'), serves('/changed.html', 'changed.html of release 2'), serves('/only-in-2.txt', 'only in release 2'), missing('/only-in-1.txt', 'not found (release 2)')]
    for (const connection of connections) {
      for (const expectation of release2) {
        const answer = await connection.get(expectation.path)
        t.ok(expectation.holds(answer), `worker ${connection.worker}, first answer after its move: ${expectation.what} (got ${answer.status} "${answer.body.toString()}")`)
      }
    }
  })
}
