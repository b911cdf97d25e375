import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import t, { type Test } from 'tap'
import { request, Agent, Client } from 'undici'
import { bundledPublicDir } from '../src/shared/package-info.js'
import { cacheControl } from '../src/worker/cache-policy.js'
import { FileCache } from '../src/worker/file-cache.js'
import { RootConfinement } from '../src/worker/root-confinement.js'
import { tempDir } from './helpers/certificates.js'
import { startApp } from './helpers/in-process-app.js'
import type { AppOptions } from '../src/worker/app.js'

const page = '<!doctype html><title>Hello</title>' + '<p>Lorem ipsum dolor sit amet. '.repeat(200)

function makeSite (dir: string): void {
  mkdirSync(join(dir, 'posts', 'folder'), { recursive: true })
  mkdirSync(join(dir, 'css'))
  writeFileSync(join(dir, 'index.html'), page)
  writeFileSync(join(dir, 'posts', 'hello.html'), '<p>hello post</p>')
  writeFileSync(join(dir, 'posts', 'folder', 'index.html'), '<p>folder index</p>')
  writeFileSync(join(dir, 'css', 'site.css'), 'body { color: #333 }\n'.repeat(100))
  writeFileSync(join(dir, 'css', 'app.3f2a9c1b.css'), 'p { margin: 0 }\n')
  writeFileSync(join(dir, 'big.bin'), Buffer.alloc(2 * 1024 * 1024, 7))
}

async function setup (t: Test, options: Partial<AppOptions> = {}) {
  const root = tempDir(t)
  makeSite(root)
  const { port, ca } = await startApp(t, root, { fileCacheRevalidateMs: 100, ...options })
  const agent = new Agent({ connect: { ca } })
  t.teardown(() => agent.close())
  const get = async (path: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') => {
    const res = await request(`https://127.0.0.1:${port}${path}`, { dispatcher: agent, headers, method })
    return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) }
  }
  return { root, get }
}

t.test('strong ETag, Last-Modified, and 304 on If-None-Match or If-Modified-Since', async (t) => {
  const { get } = await setup(t)
  const first = await get('/index.html')
  const etag = String(first.headers.etag)
  t.match(etag, /^"[^"]+"$/, 'a strong ETag')
  t.ok(first.headers['last-modified'])
  t.equal((await get('/index.html', { 'if-none-match': etag })).status, 304)
  t.equal((await get('/index.html', { 'if-none-match': `"other", W/${etag}` })).status, 304, 'weak comparison, list')
  t.equal((await get('/index.html', { 'if-none-match': '"other"' })).status, 200)
  t.equal((await get('/index.html', { 'if-modified-since': String(first.headers['last-modified']) })).status, 304)
  t.equal((await get('/index.html', { 'if-modified-since': 'Thu, 01 Jan 1970 00:00:00 GMT' })).status, 200)
  const big = await get('/big.bin')
  t.match(String(big.headers.etag), /^"[^"]+"$/, 'large files too')
  t.equal((await get('/big.bin', { 'if-none-match': String(big.headers.etag) })).status, 304)
})

t.test('Cache-Control: short for HTML, longer for assets, a year and immutable for fingerprinted names', async (t) => {
  const { get } = await setup(t)
  t.equal((await get('/index.html')).headers['cache-control'], cacheControl.document)
  t.equal((await get('/css/site.css')).headers['cache-control'], cacheControl.asset)
  t.equal((await get('/css/app.3f2a9c1b.css')).headers['cache-control'], cacheControl.fingerprinted)
  t.equal((await get('/big.bin')).headers['cache-control'], cacheControl.asset)
})

t.test('precompressed brotli and gzip, chosen by Accept-Encoding, with Vary', async (t) => {
  const { get } = await setup(t)
  // Variants are made once, off the request path: ask until they are there.
  let br = await get('/index.html', { 'accept-encoding': 'br, gzip' })
  for (let i = 0; i < 200 && br.headers['content-encoding'] !== 'br'; i++) br = await get('/index.html', { 'accept-encoding': 'br, gzip' })
  t.equal(br.headers['content-encoding'], 'br')
  t.equal(br.headers.vary, 'Accept-Encoding')
  t.equal(brotliDecompressSync(br.body).toString(), page)
  t.ok(br.body.length < page.length / 5, 'much smaller')
  const gz = await get('/index.html', { 'accept-encoding': 'gzip, br;q=0' })
  t.equal(gz.headers['content-encoding'], 'gzip')
  t.equal(gunzipSync(gz.body).toString(), page)
  const plain = await get('/index.html', { 'accept-encoding': 'identity' })
  t.equal(plain.headers['content-encoding'], undefined)
  t.equal(plain.body.toString(), page)
  t.equal(plain.headers.vary, 'Accept-Encoding')
})

t.test('Range requests get 206 and HEAD gets headers only', async (t) => {
  const { root, get } = await setup(t)
  const part = await get('/index.html', { range: 'bytes=0-99' })
  t.equal(part.status, 206)
  t.equal(part.headers['content-range'], `bytes 0-99/${page.length}`)
  t.equal(part.body.toString(), page.slice(0, 100))
  const bigPart = await get('/big.bin', { range: 'bytes=1048576-1048675' })
  t.equal(bigPart.status, 206)
  t.ok(bigPart.body.equals(readFileSync(join(root, 'big.bin')).subarray(1048576, 1048676)))
  const head = await get('/index.html', {}, 'HEAD')
  t.equal(head.status, 200)
  t.equal(head.body.length, 0)
  t.equal(Number(head.headers['content-length']), page.length)
})

t.test('clean URLs, one redirect for a directory, never a loop', async (t) => {
  const { get } = await setup(t)
  const clean = await get('/posts/hello')
  t.equal(clean.status, 200)
  t.equal(clean.body.toString(), '<p>hello post</p>', '/posts/hello serves posts/hello.html')
  const dir = await get('/posts/folder?x=1')
  t.equal(dir.status, 301)
  t.equal(dir.headers.location, '/posts/folder/?x=1', 'a directory gets its slash, query kept')
  const index = await get('/posts/folder/')
  t.equal(index.body.toString(), '<p>folder index</p>')
  t.equal((await get('/posts/')).status, 404, 'a directory without index.html: 404, not a redirect')
  t.equal((await get('/posts/hello/')).status, 404)
})

t.test('a changed file on disk is seen', async (t) => {
  const { root, get } = await setup(t)
  const before = await get('/posts/hello.html')
  writeFileSync(join(root, 'posts', 'hello.html'), '<p>hello post, edited</p>')
  let after = await get('/posts/hello.html')
  // Cached answers are re-checked after 100 ms here (1 s by default).
  for (let i = 0; i < 500 && after.body.toString() !== '<p>hello post, edited</p>'; i++) after = await get('/posts/hello.html')
  t.equal(after.body.toString(), '<p>hello post, edited</p>')
  t.not(after.headers.etag, before.headers.etag, 'a new ETag')
  writeFileSync(join(root, 'posts', 'new.html'), 'new')
  let created = await get('/posts/new')
  for (let i = 0; i < 500 && created.status !== 200; i++) created = await get('/posts/new')
  t.equal(created.status, 200, 'a new file appears')
})

t.test('a stale cached file is served while one check runs, and the check sees the change', async (t) => {
  const root = tempDir(t)
  writeFileSync(join(root, 'a.txt'), 'one')
  const cache = new FileCache({ root, maxBytes: 100_000, maxFileBytes: 100_000, revalidateMs: 50, confinement: new RootConfinement({ root, followSymlinks: false, privatePaths: [] }) })
  t.equal((await cache.resolve('/a.txt')).kind, 'file')
  writeFileSync(join(root, 'a.txt'), 'two!')
  const stale = Date.now() + 60
  const answers = Array.from({ length: 100 }, () => cache.peekFresh('/a.txt', stale)?.body.toString())
  t.same(new Set(answers), new Set(['one']), '100 requests on the stale entry are answered from memory')
  const resolved = await cache.resolve('/a.txt', stale)
  t.equal(cache.checks, 1, 'one check against the disk for all of them')
  t.equal(resolved.kind === 'file' ? resolved.file.body.toString() : resolved.kind, 'two!', 'the check found the change')
  t.equal(cache.peekFresh('/a.txt', Date.now())?.body.toString(), 'two!')
})

t.test('the cache stays within its byte budget', async (t) => {
  const root = tempDir(t)
  for (let i = 0; i < 50; i++) writeFileSync(join(root, `f${i}.txt`), 'x'.repeat(10_000))
  const cache = new FileCache({ root, maxBytes: 100_000, maxFileBytes: 1024 * 1024, revalidateMs: 1000, confinement: new RootConfinement({ root, followSymlinks: false, privatePaths: [] }) })
  for (let i = 0; i < 50; i++) t.equal((await cache.resolve(`/f${i}.txt`)).kind, 'file')
  t.ok(cache.bytes <= 100_000, `${cache.bytes} bytes held`)
})

t.test('when the root moves (a deploy by symlink swap) every cached answer is dropped at once; loads begun before are not kept', async (t) => {
  const dir = tempDir(t)
  for (const release of ['1', '2']) {
    mkdirSync(join(dir, 'releases', release), { recursive: true })
    writeFileSync(join(dir, 'releases', release, 'a.txt'), `a of ${release}`)
    writeFileSync(join(dir, 'releases', release, 'b.txt'), `b of ${release}`)
    writeFileSync(join(dir, 'releases', release, 'c.txt'), `c of ${release}`)
  }
  writeFileSync(join(dir, 'releases', '1', 'only-in-1.txt'), '1')
  const root = join(dir, 'current')
  symlinkSync('releases/1', root)
  const confinement = new RootConfinement({ root, followSymlinks: false, privatePaths: [] })
  // Never revalidated here: only the move can change an answer.
  const cache = new FileCache({ root, maxBytes: 100_000, maxFileBytes: 100_000, revalidateMs: 3_600_000, confinement })
  const body = (resolution: Awaited<ReturnType<FileCache['resolve']>>): string => resolution.kind === 'file' ? resolution.file.body.toString() : resolution.kind
  t.equal(body(await cache.resolve('/a.txt')), 'a of 1')
  t.equal(body(await cache.resolve('/only-in-1.txt')), '1')
  symlinkSync('releases/2', join(dir, 'current.tmp'))
  renameSync(join(dir, 'current.tmp'), root)
  t.equal(cache.peekFresh('/a.txt', Date.now())?.body.toString(), 'a of 1', 'until the move is seen, the cached answer')
  t.equal(await confinement.refresh(), true)
  t.equal(cache.peekFresh('/a.txt', Date.now()), undefined, 'once it is seen, not even the fast path has it')
  t.equal(cache.bytes, 0, 'nothing of the old tree is held')
  t.equal(body(await cache.resolve('/a.txt')), 'a of 2')
  t.equal(body(await cache.resolve('/only-in-1.txt')), 'missing')

  const before = cache.resolve('/b.txt')
  cache.clear()
  t.equal(body(await before), 'b of 2', 'a load begun before the drop still answers its request')
  t.equal(cache.peekFresh('/b.txt', Date.now()), undefined, 'but what it found is not kept')
  const joined = cache.resolve('/c.txt')
  cache.clear()
  const own = cache.resolve('/c.txt')
  t.same([body(await joined), body(await own)], ['c of 2', 'c of 2'])
  t.equal(cache.peekFresh('/c.txt', Date.now())?.body.toString(), 'c of 2', 'a request after the drop makes its own load (kept), not joining the one before')
})

t.test('the fast path for cached files answers exactly like the full path', async (t) => {
  const { get } = await setup(t)
  await get('/index.html', { 'accept-encoding': 'br' })
  // Wait for the compressed variant, so both paths have the same choices.
  let fast = await get('/index.html', { 'accept-encoding': 'br' })
  for (let i = 0; i < 200 && fast.headers['content-encoding'] !== 'br'; i++) fast = await get('/index.html', { 'accept-encoding': 'br' })
  // A query string sends the same file through Fastify's router and hooks.
  const full = await get('/index.html?via=fastify', { 'accept-encoding': 'br' })
  const comparable = (headers: Record<string, unknown>) => {
    const { date: _date, 'keep-alive': _keepAlive, connection: _connection, ...rest } = headers
    return rest
  }
  t.same(comparable(fast.headers), comparable(full.headers), 'same headers')
  t.ok(fast.body.equals(full.body), 'same body')
  const variants: Array<Record<string, string>> = [{ 'if-none-match': String(fast.headers.etag) }, {}]
  for (const headers of variants) {
    const a = await get('/css/site.css', headers)
    const b = await get('/css/site.css?x', headers)
    t.equal(a.status, b.status)
    t.same(comparable(a.headers), comparable(b.headers), `same headers for ${JSON.stringify(headers)}`)
  }
  const headA = await get('/index.html', {}, 'HEAD')
  const headB = await get('/index.html?x', {}, 'HEAD')
  t.same(comparable(headA.headers), comparable(headB.headers), 'HEAD too')
})

// Every kind of answer a cached file can get, through both paths: 304s by
// either validator, each encoding, HEAD, and the drain rule's Connection: close.
t.test('both paths give a cached file the same 304s, encodings, HEAD answers and drain header', async (t) => {
  let draining = false
  const { get } = await setup(t, { isDraining: () => draining })
  let warm = await get('/index.html', { 'accept-encoding': 'br, gzip' })
  for (let i = 0; i < 200 && warm.headers['content-encoding'] !== 'br'; i++) warm = await get('/index.html', { 'accept-encoding': 'br, gzip' })
  const etag = String(warm.headers.etag)
  const lastModified = String(warm.headers['last-modified'])
  const comparable = (headers: Record<string, unknown>) => {
    const { date: _date, 'keep-alive': _keepAlive, ...rest } = headers
    return rest
  }
  const cases: Array<[string, Record<string, string>, 'GET' | 'HEAD']> = [
    ['If-None-Match', { 'if-none-match': etag, 'accept-encoding': 'br' }, 'GET'],
    ['a list with a weak tag', { 'if-none-match': `"other", W/${etag}` }, 'GET'],
    ['a tag that does not match', { 'if-none-match': '"other"', 'accept-encoding': 'gzip' }, 'GET'],
    ['If-Modified-Since', { 'if-modified-since': lastModified }, 'GET'],
    ['an old If-Modified-Since', { 'if-modified-since': 'Thu, 01 Jan 1970 00:00:00 GMT' }, 'GET'],
    ['gzip', { 'accept-encoding': 'gzip, br;q=0' }, 'GET'],
    ['HEAD with brotli', { 'accept-encoding': 'br' }, 'HEAD'],
    ['HEAD 304', { 'if-none-match': etag }, 'HEAD']
  ]
  for (const state of [false, true]) {
    draining = state
    for (const [name, headers, method] of cases) {
      const fast = await get('/index.html', headers, method)
      const full = await get('/index.html?via=fastify', headers, method)
      const label = `${name}${state ? ', draining' : ''}`
      t.equal(fast.status, full.status, `${label}: same status`)
      // HEAD 304 included: neither path sends a content-length with it (static-files.ts).
      t.same(comparable(fast.headers), comparable(full.headers), `${label}: same headers`)
      // Both take them from one prepared object (cached-response.ts): same order too.
      t.same(Object.keys(comparable(fast.headers)), Object.keys(comparable(full.headers)), `${label}: in the same order`)
      t.ok(fast.body.equals(full.body), `${label}: same body`)
      // undici asks to close after a HEAD itself: only the drain is checked.
      if (state) t.equal(fast.headers.connection, 'close', `${label}: Connection: close while draining`)
    }
  }
})

t.test('the first response for every text file of the sample blog is already compressed', async (t) => {
  const { port, ca } = await startApp(t, bundledPublicDir)
  const client = new Client(`https://127.0.0.1:${port}`, { connect: { ca } })
  t.teardown(() => client.close())
  const texts = filesBelow(bundledPublicDir).filter((file) => /\.(html|css|xml|svg|js|json|txt)$/.test(file) && statSync(file).size >= 256)
  t.ok(texts.length >= 5, `${texts.length} text files`)
  for (const file of texts) {
    const path = '/' + relative(bundledPublicDir, file).split(sep).join('/')
    const res = await client.request({ method: 'GET', path, headers: { 'accept-encoding': 'br, gzip' } })
    const body = Buffer.from(await res.body.arrayBuffer())
    const encoding = res.headers['content-encoding']
    t.ok(encoding === 'gzip' || encoding === 'br', `${path}: the first answer is compressed (${String(encoding)})`)
    t.ok((encoding === 'br' ? brotliDecompressSync(body) : gunzipSync(body)).equals(readFileSync(file)), `${path}: and decodes to the file`)
  }
})

function filesBelow (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesBelow(join(dir, entry.name)) : [join(dir, entry.name)])
}
