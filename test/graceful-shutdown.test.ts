import { createHash, randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { Client, request } from 'undici'
import { tempDir } from './helpers/certificates.js'
import { devCa } from './helpers/https-client.js'
import { startSeraph, waitUntilGone } from './helpers/seraph-process.js'

const size = 24 * 1024 * 1024

function siteWithLargeFile (t: Test): { root: string, sha256: string } {
  const root = tempDir(t)
  const data = randomBytes(size)
  writeFileSync(join(root, 'large.bin'), data)
  writeFileSync(join(root, 'index.html'), '<h1>hi</h1>')
  return { root, sha256: createHash('sha256').update(data).digest('hex') }
}

/** Starts a download and stops reading it after the headers: the response stays in flight. */
async function startStalledDownload (t: Test, ca: Buffer, port: number) {
  const client = new Client(`https://127.0.0.1:${port}`, { connect: { ca }, bodyTimeout: 0 })
  t.teardown(() => client.destroy())
  const res = await request(`https://127.0.0.1:${port}/large.bin`, { dispatcher: client })
  t.equal(res.statusCode, 200)
  return res
}

t.test('SIGTERM during a slow download: the download completes, then exit 0', async (t) => {
  const { root, sha256 } = siteWithLargeFile(t)
  const ca = await devCa()
  const { seraph, port } = await startSeraph(t, ['--workers', '2', '--root', root, '--shutdown-timeout', '30s'])
  const workers = seraph.liveWorkerPids()
  const res = await startStalledDownload(t, ca, port)
  const draining = seraph.nextLine((l) => l.msg === 'draining' && (l.connections as number) >= 1, 'the busy worker draining')
  seraph.signal('SIGTERM')
  await draining
  const body = Buffer.from(await res.body.arrayBuffer())
  t.equal(body.length, size, 'every byte arrived')
  t.equal(createHash('sha256').update(body).digest('hex'), sha256, 'the bytes are the file')
  const { code } = await seraph.closed
  t.equal(code, 0)
  t.notOk(seraph.lines.some((l) => l.msg.startsWith('forced')), 'no connection had to be forced')
  t.same(await waitUntilGone(workers), [])
})

t.test('past --shutdown-timeout the stalled connection is closed and seraph exits', async (t) => {
  const { root } = siteWithLargeFile(t)
  const ca = await devCa()
  const { seraph, port } = await startSeraph(t, ['--workers', '1', '--root', root, '--shutdown-timeout', '300ms'])
  const res = await startStalledDownload(t, ca, port)
  const forced = seraph.nextLine((l) => l.msg.startsWith('forced shutdown'), 'the forced close')
  seraph.signal('SIGTERM')
  await forced
  await t.rejects(res.body.arrayBuffer(), 'the stalled download is cut off')
  const { code } = await seraph.closed
  t.equal(code, 0)
})

t.test('a second signal during the drain forces it at once', async (t) => {
  const { root } = siteWithLargeFile(t)
  const ca = await devCa()
  const { seraph, port } = await startSeraph(t, ['--workers', '1', '--root', root, '--shutdown-timeout', '10m'])
  const res = await startStalledDownload(t, ca, port)
  const draining = seraph.nextLine((l) => l.msg === 'draining', 'draining')
  seraph.signal('SIGTERM')
  await draining
  const forced = seraph.nextLine((l) => l.msg.startsWith('forced shutdown'), 'the forced close')
  seraph.signal('SIGTERM')
  await forced
  await t.rejects(res.body.arrayBuffer())
  const { code } = await seraph.closed
  t.equal(code, 0)
})
