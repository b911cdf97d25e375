import { mkdirSync, readFileSync, renameSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { connect as connectHttp2 } from 'node:http2'
import { connect as connectTcp } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { Agent, request, type Dispatcher } from 'undici'
import { makeCertificate, tempDir } from './helpers/certificates.js'
import { rawRequest } from './helpers/https-client.js'
import { startSeraph } from './helpers/seraph-process.js'

interface Teardown { teardown (fn: () => unknown): void }

// Text long enough to be compressed, so a brotli variant would exist if it were ever read.
const secret = 'SECRET-OUTSIDE-THE-ROOT\n'.repeat(40)

interface Site {
  readonly root: string
  readonly outside: string
  readonly cert: string
  readonly key: string
  readonly ca: Buffer
}

/** A root with links out of it (file, folder, chain, large file, clean-URL page, the key) and links that stay inside. */
async function makeSite (t: Teardown): Promise<Site> {
  const dir = tempDir(t)
  const pair = await makeCertificate(dir, 'certs')
  const outside = join(dir, 'outside')
  const root = join(dir, 'root')
  mkdirSync(outside)
  mkdirSync(join(root, 'posts'), { recursive: true })
  mkdirSync(join(root, '.well-known', 'acme-challenge'), { recursive: true })
  writeFileSync(join(outside, 'secret.txt'), secret)
  writeFileSync(join(outside, 'secret.html'), secret)
  writeFileSync(join(outside, 'big.bin'), Buffer.alloc(2 * 1024 * 1024, secret))
  writeFileSync(join(root, 'index.html'), '<p>home</p>')
  writeFileSync(join(root, 'posts', 'inside.html'), '<p>inside post</p>'.repeat(30))
  writeFileSync(join(root, 'a.txt'), 'inside a')
  writeFileSync(join(root, '.well-known', 'acme-challenge', 'token-1'), 'token-1.thumbprint')
  writeFileSync(join(root, '.env'), 'PASSWORD=1')
  symlinkSync(join(outside, 'secret.txt'), join(root, 'leak.txt'))
  symlinkSync(outside, join(root, 'outdir'))
  symlinkSync(join(outside, 'secret.txt'), join(root, 'chain2'))
  symlinkSync(join(root, 'chain2'), join(root, 'chain1.txt'))
  symlinkSync(join(outside, 'big.bin'), join(root, 'big.bin'))
  symlinkSync(join(outside, 'secret.html'), join(root, 'page.html'))
  symlinkSync(pair.key, join(root, 'key.pem'))
  symlinkSync(join(root, 'posts', 'inside.html'), join(root, 'linked.html'))
  symlinkSync('a.txt', join(root, 'swap.txt'))
  return { root, outside, cert: pair.cert, key: pair.key, ca: readFileSync(pair.ca) }
}

interface Answer { status: number, body: string }

async function fetch (dispatcher: Dispatcher, port: number, path: string, method: 'GET' | 'HEAD' = 'GET', headers: Record<string, string> = {}): Promise<Answer> {
  const res = await request(`https://127.0.0.1:${port}${path}`, { dispatcher, method, headers })
  return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()).toString('latin1') }
}

// Each way a file can be read: the fast path and its cache, Fastify, HEAD, a range, a compressed variant, HTTP/2.
const variants: ReadonlyArray<{ name: string, method: 'GET' | 'HEAD', headers: Record<string, string>, h2: boolean }> = [
  { name: 'GET', method: 'GET', headers: {}, h2: false },
  { name: 'GET again (cached path)', method: 'GET', headers: {}, h2: false },
  { name: 'HEAD', method: 'HEAD', headers: {}, h2: false },
  { name: 'Range', method: 'GET', headers: { range: 'bytes=0-99' }, h2: false },
  { name: 'br', method: 'GET', headers: { 'accept-encoding': 'br' }, h2: false },
  { name: 'HTTP/2', method: 'GET', headers: { 'accept-encoding': 'br, gzip' }, h2: true }
]

const escapes = ['/leak.txt', '/outdir/secret.txt', '/outdir/', '/chain1.txt', '/big.bin', '/page', '/page.html', '/key.pem']

t.test('links out of the root answer 404 on every path that reads a file; links inside keep working', async (t) => {
  const site = await makeSite(t)
  const { seraph, port } = await startSeraph(t, ['--workers', '1', '--root', site.root, '--cert', site.cert, '--key', site.key])
  const h1 = new Agent({ connect: { ca: site.ca, servername: 'localhost' } })
  const h2 = new Agent({ connect: { ca: site.ca, servername: 'localhost' }, allowH2: true })
  t.teardown(() => Promise.all([h1.close(), h2.close()]))
  const key = readFileSync(site.key, 'latin1')
  for (const path of escapes) {
    for (const variant of variants) {
      const answer = await fetch(variant.h2 ? h2 : h1, port, path, variant.method, variant.headers)
      t.equal(answer.status, 404, `${path} ${variant.name}: 404`)
      t.notOk(answer.body.includes('SECRET-OUTSIDE') || answer.body.includes(key.slice(40, 80)), `${path} ${variant.name}: not a byte of the target`)
    }
  }
  for (const variant of variants) {
    const linked = await fetch(variant.h2 ? h2 : h1, port, '/linked', variant.method, variant.headers)
    t.ok(linked.status === 200 || linked.status === 206, `a link inside the root is served (${variant.name}: ${linked.status})`)
  }
  t.equal((await fetch(h1, port, '/.well-known/acme-challenge/token-1')).body, 'token-1.thumbprint', '/.well-known/ is served (RFC 8615)')
  t.equal((await fetch(h1, port, '/.env')).status, 404, 'other dotfiles are not')

  const warning = await seraph.waitForLine((l) => l.msg.startsWith('refused a file') && l.path === '/leak.txt', 'the refusal warning')
  t.equal(warning.level, 40, 'logged at warn')
  t.notOk(JSON.stringify(seraph.lines).includes(site.outside), 'no log line names a link target')
  t.equal(seraph.lines.filter((l) => l.msg.startsWith('refused a file') && l.path === '/leak.txt').length, 1, 'logged once however often it was asked for')
})

t.test('a link swapped to point outside after its file was cached is never served', async (t) => {
  const site = await makeSite(t)
  const { port } = await startSeraph(t, ['--workers', '1', '--root', site.root])
  const agent = new Agent({ connect: { ca: readFileSync(join(site.root, '..', 'certs', 'ca.pem')) } })
  t.teardown(() => agent.close())
  // Whole seconds: the file system keeps them exactly, so the two targets' times are equal.
  const wholeSecond = 1_700_000_000
  utimesSync(join(site.root, 'a.txt'), wholeSecond, wholeSecond)
  const devAgent = new Agent({ connect: { rejectUnauthorized: false } })
  t.teardown(() => devAgent.close())
  t.equal((await fetch(devAgent, port, '/swap.txt')).body, 'inside a', 'served while it points inside')
  t.equal((await fetch(devAgent, port, '/swap.txt')).body, 'inside a', 'and from the cache')
  // Same size and times as the old target: only the real path tells them apart.
  const target = join(site.outside, 'same-size.txt')
  writeFileSync(target, 'SECRET-B')
  utimesSync(target, wholeSecond, wholeSecond)
  const next = join(site.root, 'swap.next')
  symlinkSync(target, next)
  renameSync(next, join(site.root, 'swap.txt'))
  // A range is streamed from disk: checked again at once, whatever the cache holds.
  t.equal((await fetch(devAgent, port, '/swap.txt', 'GET', { range: 'bytes=0-9' })).status, 404, 'a range right after the swap: 404')
  // The cached answer (inside bytes) may be served until the next check; never the new target.
  const deadline = Date.now() + 5000
  const servedBefore = new Set<string>()
  let answer = await fetch(devAgent, port, '/swap.txt')
  while (answer.status === 200 && Date.now() < deadline) {
    servedBefore.add(answer.body)
    answer = await fetch(devAgent, port, '/swap.txt')
  }
  t.ok(servedBefore.size === 0 || (servedBefore.size === 1 && servedBefore.has('inside a')), 'until revalidation, only the old inside bytes')
  t.equal(answer.status, 404, 'after revalidation: 404')
  t.notOk(answer.body.includes('SECRET'))
})

t.test('--follow-symlinks serves links out of the root, but never the key, even with the root above it', async (t) => {
  const site = await makeSite(t)
  const parent = join(site.root, '..')
  const { port } = await startSeraph(t, ['--workers', '1', '--root', parent, '--cert', site.cert, '--key', site.key, '--follow-symlinks'])
  const agent = new Agent({ connect: { ca: site.ca, servername: 'localhost' } })
  t.teardown(() => agent.close())
  t.equal((await fetch(agent, port, '/root/leak.txt')).body, secret, 'a link out of the root is followed')
  t.equal((await fetch(agent, port, '/root/big.bin', 'GET', { range: 'bytes=0-9' })).status, 206, 'also for a range of a large file')
  for (const path of ['/root/key.pem', '/certs/key.pem', '/certs/cert.pem']) {
    for (const variant of variants.filter((v) => !v.h2)) {
      const answer = await fetch(agent, port, path, variant.method, variant.headers)
      t.equal(answer.status, 404, `${path} ${variant.name}: 404`)
    }
  }
})

t.test('--follow-symlinks with the target outside the root: large files and ranges are streamed from it, the key still is not', async (t) => {
  const site = await makeSite(t)
  const { port } = await startSeraph(t, ['--workers', '1', '--root', site.root, '--cert', site.cert, '--key', site.key, '--follow-symlinks'])
  const agent = new Agent({ connect: { ca: site.ca, servername: 'localhost' } })
  t.teardown(() => agent.close())
  const whole = await fetch(agent, port, '/big.bin')
  t.equal(whole.status, 200)
  t.equal(whole.body, readFileSync(join(site.outside, 'big.bin'), 'latin1'), 'the large file, streamed from outside the root')
  const range = await fetch(agent, port, '/big.bin', 'GET', { range: 'bytes=0-9' })
  t.equal(range.status, 206)
  t.equal(range.body, secret.slice(0, 10), 'a range of it')
  t.equal((await fetch(agent, port, '/key.pem', 'GET', { range: 'bytes=0-9' })).status, 404, 'a range of the key: 404')
})

t.test('two Host headers: 400 on the HTTPS and the redirect listener; :authority and a different Host: 400', async (t) => {
  const site = await makeSite(t)
  const { port, ready } = await startSeraph(t, ['--workers', '1', '--root', site.root, '--cert', site.cert, '--key', site.key, '--redirect-port', '0'])
  const raw = (host: string): string => `GET /index.html HTTP/1.1\r\n${host}Connection: close\r\n\r\n`
  t.match(await rawRequest(site.ca, port, raw('Host: localhost\r\n')), /^HTTP\/1\.1 200 /, 'one Host: 200')
  t.match(await rawRequest(site.ca, port, raw('Host: localhost\r\nHost: evil.example\r\n')), /^HTTP\/1\.1 400 /, 'two Host headers over HTTPS: 400')
  t.match(await rawRequest(site.ca, port, raw('Host: localhost\r\nhost: localhost\r\n')), /^HTTP\/1\.1 400 /, 'even when they agree')

  const redirectPort = ready.redirectPort as number
  const plain = (text: string): Promise<string> => new Promise((resolve, reject) => {
    const socket = connectTcp(redirectPort, '127.0.0.1', () => socket.write(text))
    let answer = ''
    socket.setEncoding('utf8').on('data', (chunk: string) => { answer += chunk })
    socket.on('error', reject).on('close', () => resolve(answer))
  })
  t.match(await plain(raw('Host: localhost\r\n')), /^HTTP\/1\.1 301 /, 'one Host on the redirect listener: 301')
  t.match(await plain(raw('Host: localhost\r\nHost: evil.example\r\n')), /^HTTP\/1\.1 400 /, 'two Host headers on the redirect listener: 400')

  const session = connectHttp2(`https://localhost:${port}`, { ca: site.ca, host: '127.0.0.1' } as never)
  t.teardown(() => session.destroy())
  const h2Status = (headers: Record<string, string>): Promise<number> => new Promise((resolve, reject) => {
    const stream = session.request({ ':path': '/index.html', ...headers })
    stream.on('response', (h) => resolve(Number(h[':status'])))
    stream.on('error', reject)
    stream.resume()
  })
  const authority = `localhost:${port}`
  t.equal(await h2Status({ ':authority': authority }), 200, 'HTTP/2 with :authority alone: 200')
  t.equal(await h2Status({ ':authority': authority, host: authority }), 200, 'a Host equal to :authority: 200')
  t.equal(await h2Status({ ':authority': authority, host: 'evil.example' }), 400, 'a Host that differs from :authority: 400')
})
