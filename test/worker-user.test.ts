import { X509Certificate } from 'node:crypto'
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { makeCertificate, swappableCertificate, tempDir } from './helpers/certificates.js'
import { expectCliFailure } from './helpers/cli-failure.js'
import { devCa, getFresh } from './helpers/https-client.js'
import { startSeraph, type ReadyServer } from './helpers/seraph-process.js'
import { probeTls } from './helpers/tls-probe.js'
import { checkoutReadableByNobody, nobody, runAsRoot } from './helpers/worker-user.js'

/** Real, effective, saved and file-system ids, and the supplementary groups, as the kernel has them. */
function ids (pid: number): { uid: number[], gid: number[], groups: string } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const field = (name: string): string => new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? ''
  return { uid: field('Uid').split(/\s+/).map(Number), gid: field('Gid').split(/\s+/).map(Number), groups: field('Groups') }
}

// The test environment's fallback account (test/helpers/worker-user.ts) is cleared: these tests are about the default.
const noFallback = { env: { SERAPH_USER: '' } }

async function site (t: Parameters<typeof tempDir>[0]): Promise<string> {
  const root = join(tempDir(t, 'seraph-user-root-'), 'site')
  mkdirSync(root)
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>as nobody</title><p>served by a worker that is not root</p>\n')
  return root
}

if (runAsRoot && !checkoutReadableByNobody) {
  // A checkout nobody cannot enter (a clone under /root or `mktemp -d`): the
  // default account must be refused at once, naming the folder.
  t.test('started as root from a checkout nobody cannot read: one line naming the folder, exit 1', async (t) => {
    await expectCliFailure(t, ['--root', await site(t)], 'SERAPH_ERR_USER_CANNOT_READ', /the workers run as nobody, who cannot read \//, noFallback)
  })
}

if (runAsRoot && checkoutReadableByNobody) {
  t.test('started as root with no --user: the primary stays root, every worker runs as nobody, the blog is served on both ports', async (t) => {
    const { seraph, port, ready } = await startSeraph(t, ['--workers', '2', '--redirect-port', '0', '--root', await site(t)], noFallback)
    const said = await seraph.waitForLine((l) => l.msg.startsWith('started as root: the workers run as nobody'), 'the start log line on the workers\' account')
    t.match(said, { user: 'nobody', uid: 65534, gid: 65534 }, 'the start log names the account')
    t.same(ids(seraph.lines.find((l) => l.msg === 'ready')!.pid).uid, [0, 0, 0, 0], 'the primary runs as root')
    const workers = seraph.liveWorkerPids()
    t.equal(workers.length, 2, 'two workers listen')
    for (const pid of workers) {
      const worker = ids(pid)
      t.same(worker.uid, [nobody.uid, nobody.uid, nobody.uid, nobody.uid], `worker ${pid}: every uid is nobody's (no way back to root)`)
      t.same(worker.gid, [nobody.gid, nobody.gid, nobody.gid, nobody.gid], `worker ${pid}: every gid is nogroup's`)
      t.equal(worker.groups, '', `worker ${pid}: no supplementary group of root's`)
    }
    const ca = await devCa()
    const page = await getFresh(ca, port, '/')
    t.equal(page.status, 200, 'HTTPS is served')
    t.match(page.body.toString(), /served by a worker that is not root/, 'from --root')
    const plain = await request(`http://127.0.0.1:${ready.redirectPort as number}/posts/?a=1`, { headers: { host: 'blog.example' } })
    await plain.body.dump()
    t.equal(plain.statusCode, 301, 'the redirect port answers')
    t.equal(plain.headers.location, `https://blog.example:${port}/posts/?a=1`, 'with the HTTPS URL')
  })

  t.test('--user and --group choose the account; --user root keeps the workers root, with a warning', async (t) => {
    const root = await site(t)
    const daemon = await startSeraph(t, ['--workers', '1', '--root', root, '--user', 'daemon', '--group', 'nogroup'])
    const worker = ids(daemon.seraph.liveWorkerPids()[0]!)
    t.same(worker.uid, [1, 1, 1, 1], 'daemon is uid 1 on Debian')
    t.same(worker.gid, [65534, 65534, 65534, 65534], '--group nogroup, not daemon\'s own group')
    t.match(daemon.seraph.lines.find((l) => l.msg === 'the workers run as daemon'), { uid: 1, gid: 65534, group: 'nogroup' })
    const fromEnv = await startSeraph(t, ['--workers', '1', '--root', root], { env: { SERAPH_USER: 'daemon' } })
    t.same(ids(fromEnv.seraph.liveWorkerPids()[0]!).uid, [1, 1, 1, 1], 'SERAPH_USER chooses it too')
    const asRoot = await startSeraph(t, ['--workers', '1', '--root', root, '--user', 'root'])
    t.same(ids(asRoot.seraph.liveWorkerPids()[0]!).uid, [0, 0, 0, 0], '--user root: the worker is root')
    const warning = asRoot.seraph.lines.find((l) => l.msg.startsWith('the workers run as root'))
    t.equal(warning?.level, 40, 'and the log warns about it')
  })

  t.test('the key is root\'s alone (0600 in a 0700 folder, like /etc/letsencrypt/live): workers that cannot read it serve it, and SIGUSR2 applies a new one', async (t) => {
    const pair = await swappableCertificate(t, 'a')
    chmodSync(pair.dir, 0o700)
    chmodSync(pair.key, 0o600)
    const server: ReadyServer = await startSeraph(t, ['--workers', '2', '--root', await site(t), '--cert', pair.cert, '--key', pair.key], noFallback)
    const print = (file: string): string => new X509Certificate(readFileSync(file)).fingerprint256
    const b = await makeCertificate(pair.dir, 'b')
    const cas = [pair.ca, readFileSync(b.ca)]
    const seen = async (): Promise<string> => (await probeTls(server.port, { ca: cas, version: 'TLSv1.3' })).fingerprint256
    t.equal(await seen(), print(pair.first.cert), 'certificate A is served')
    pair.use(b)
    chmodSync(pair.key, 0o600)
    const applied = Promise.all(server.seraph.liveWorkerPids().map((pid) => server.seraph.nextLine((l) => l.msg === 'certificate reloaded' && l.pid === pid, `worker ${pid} applies the new certificate`)))
    server.seraph.signal('SIGUSR2')
    await applied
    t.equal(await seen(), print(b.cert), 'after SIGUSR2, certificate B, read by the primary')
    t.notOk(server.seraph.lines.some((l) => l.msg === 'worker kept its certificate'), 'no worker failed to apply it')
  })

  t.test('bad accounts, and a root the workers cannot read: one line, exit 1, nothing left running', async (t) => {
    const root = await site(t)
    await expectCliFailure(t, ['--root', root, '--user', 'no-such-user-here'], 'SERAPH_ERR_USER_UNKNOWN', '--user no-such-user-here')
    await expectCliFailure(t, ['--root', root], 'SERAPH_ERR_USER_UNKNOWN', 'SERAPH_USER (--user) ghost', { env: { SERAPH_USER: 'ghost' } })
    await expectCliFailure(t, ['--root', root, '--group', 'no-such-group'], 'SERAPH_ERR_GROUP_UNKNOWN', '--group no-such-group')
    await expectCliFailure(t, ['--root', root, '--user', 'bad:name'], 'SERAPH_ERR_USER_UNKNOWN', '--user bad:name')
    // mkdtemp's 0700: what a blog under a private home folder looks like to nobody.
    const closed = join(tempDir(t, 'seraph-closed-'), 'home')
    mkdirSync(join(closed, 'blog'), { recursive: true })
    writeFileSync(join(closed, 'blog', 'index.html'), 'private\n')
    chmodSync(closed, 0o700)
    await expectCliFailure(t, ['--root', join(closed, 'blog')], 'SERAPH_ERR_USER_CANNOT_READ', `nobody, who cannot read ${closed} (EACCES)`, noFallback)
    // The way in is open, --root itself is not readable (write and enter only).
    chmodSync(closed, 0o755)
    chmodSync(join(closed, 'blog'), 0o300)
    await expectCliFailure(t, ['--root', join(closed, 'blog')], 'SERAPH_ERR_USER_CANNOT_READ', `cannot read ${join(closed, 'blog')} (EACCES)`, noFallback)
  })
}

if (checkoutReadableByNobody) {
  t.test('not started as root: --user can only name the account seraph runs as', async (t) => {
    // As root here, the test becomes nobody for this; as a normal user, it is one already.
    const launcher = runAsRoot ? { launcher: ['setpriv', '--reuid', 'nobody', '--regid', 'nogroup', '--clear-groups'] } : {}
    const root = await site(t)
    chmodSync(root, 0o755)
    await expectCliFailure(t, ['--root', root, '--user', 'root'], 'SERAPH_ERR_USER_NEEDS_ROOT', '--user root: only root can run the workers as another account', launcher)
    await expectCliFailure(t, ['--root', root, '--group', 'root'], 'SERAPH_ERR_USER_NEEDS_ROOT', '--group root', launcher)
  })
}
