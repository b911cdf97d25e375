import { randomBytes } from 'node:crypto'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { brotliCompressSync, brotliDecompressSync, constants, gzipSync, gunzipSync } from 'node:zlib'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { Agent, request } from 'undici'
import { tempDir } from './helpers/certificates.js'
import { startApp } from './helpers/in-process-app.js'

// Twins a site generator ships beside its files (index.html.br, .gz), as
// nginx's brotli_static/gzip_static and Caddy's `precompressed` serve them.
const page = '<!doctype html><title>Twins</title>' + '<p>Lorem ipsum dolor sit amet, consectetur. '.repeat(300)
// Shorter than the page: only the comparison of the bytes tells it apart.
const other = '<!doctype html><title>Before the edit</title>' + '<p>Something else entirely, sed do eiusmod. '.repeat(250)
// Quality 1 and level 1: bytes a worker's own quality 11 / level 9 never make, so the test sees which was sent.
const brotliOf = (text: string) => brotliCompressSync(text, { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } })
const gzipOf = (text: string) => gzipSync(text, { level: 1 })

async function serve (t: Test, files: (root: string) => void) {
  const root = tempDir(t)
  files(root)
  const lines: Array<Record<string, unknown>> = []
  const logger = pino({ level: 'info' }, { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>) } })
  const { port, ca } = await startApp(t, root, { logger })
  const agent = new Agent({ connect: { ca } })
  t.teardown(() => agent.close())
  const get = async (path: string, encoding: string) => {
    const res = await request(`https://127.0.0.1:${port}${path}`, { dispatcher: agent, headers: { 'accept-encoding': encoding } })
    return { status: res.statusCode, encoding: res.headers['content-encoding'], body: Buffer.from(await res.body.arrayBuffer()) }
  }
  return { get, lines }
}

t.test('twins that hold the file are served as they are, from the first request', async (t) => {
  const br = brotliOf(page)
  const gz = gzipOf(page)
  const { get, lines } = await serve(t, (root) => {
    writeFileSync(join(root, 'index.html'), page)
    writeFileSync(join(root, 'index.html.br'), br)
    writeFileSync(join(root, 'index.html.gz'), gz)
  })
  const first = await get('/index.html', 'br, gzip')
  t.equal(first.encoding, 'br', 'brotli for the first visitor: nothing to wait for')
  t.same(first.body, br, 'the twin\'s own bytes')
  const gzipped = await get('/index.html', 'gzip')
  t.equal(gzipped.encoding, 'gzip')
  t.same(gzipped.body, gz, 'the .gz twin\'s own bytes')
  t.equal((await get('/index.html', 'identity')).body.toString(), page, 'the file itself without Accept-Encoding')
  t.notOk(lines.some((l) => l.level === 40), 'no warning')
})

t.test('a stale twin is never served: the original is compressed instead, and the twin named in a warning', async (t) => {
  const { get, lines } = await serve(t, (root) => {
    writeFileSync(join(root, 'index.html'), page)
    writeFileSync(join(root, 'index.html.br'), brotliOf(other))
    writeFileSync(join(root, 'index.html.gz'), gzipOf(other))
  })
  const gzipped = await get('/index.html', 'gzip')
  t.equal(gzipped.encoding, 'gzip')
  t.equal(gunzipSync(gzipped.body).toString(), page, 'gzip of the file, not the stale twin')
  // seraph's own brotli comes off the request path: ask until it is there.
  let br = await get('/index.html', 'br')
  for (let i = 0; i < 200 && br.encoding !== 'br'; i++) br = await get('/index.html', 'br')
  t.equal(br.encoding, 'br')
  t.equal(brotliDecompressSync(br.body).toString(), page, 'brotli of the file, not the stale twin')
  const warned = lines.filter((l) => l.level === 40).map((l) => l.path).sort()
  t.same(warned, ['/index.html.br', '/index.html.gz'], 'each stale twin named once')
})

t.test('a twin that is a link out of the root is not read; one that expands past its file is ignored', async (t) => {
  const outside = tempDir(t)
  writeFileSync(join(outside, 'secret.br'), brotliOf(page))
  const { get } = await serve(t, (root) => {
    mkdirSync(join(root, 'posts'))
    writeFileSync(join(root, 'index.html'), page)
    symlinkSync(join(outside, 'secret.br'), join(root, 'index.html.br'))
    writeFileSync(join(root, 'posts', 'a.html'), page)
    // Decompresses to the page and 10 MB more: cannot match, and is decompressed no further than the page's size.
    writeFileSync(join(root, 'posts', 'a.html.gz'), gzipOf(page + 'x'.repeat(10_000_000)).subarray(0, page.length - 1))
  })
  let br = await get('/index.html', 'br')
  for (let i = 0; i < 200 && br.encoding !== 'br'; i++) br = await get('/index.html', 'br')
  t.notSame(br.body, brotliOf(page), 'not the linked twin: seraph\'s own brotli')
  t.equal(brotliDecompressSync(br.body).toString(), page)
  const gzipped = await get('/posts/a.html', 'gzip')
  t.equal(gunzipSync(gzipped.body).toString(), page, 'its own gzip')
})

t.test('a twin no smaller than its file is not sent', async (t) => {
  // Random bytes do not compress: any brotli of them is larger, seraph's own included.
  const noise = randomBytes(4096)
  const twin = brotliCompressSync(noise)
  t.ok(twin.length > noise.length, 'the twin is larger')
  const { get } = await serve(t, (root) => {
    writeFileSync(join(root, 'noise.html'), noise)
    writeFileSync(join(root, 'noise.html.br'), twin)
  })
  const answer = await get('/noise.html', 'br')
  t.equal(answer.encoding, undefined, 'sent as it is')
  t.same(answer.body, noise)
})
