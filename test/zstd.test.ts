import { writeFileSync } from 'node:fs'
import { connect, type IncomingHttpHeaders } from 'node:http2'
import { join } from 'node:path'
import * as zlib from 'node:zlib'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { Agent, request } from 'undici'
import { chooseEncoding, parseAcceptEncoding } from '../src/worker/content-coding.js'
import type { CachedFile } from '../src/worker/file-cache.js'
import { tempDir } from './helpers/certificates.js'
import { startApp } from './helpers/in-process-app.js'

// zstd where Node has it (22.15+, 24), nothing changed where it has not
// (Node 20): each test asserts what is true on the Node that runs it.
const zstdDecompressSync = (zlib as unknown as { zstdDecompressSync?: (input: Buffer) => Buffer }).zstdDecompressSync
const hasZstd = typeof (zlib as unknown as { zstdCompress?: unknown }).zstdCompress === 'function'
const zstdMagic = 0xfd2fb528

const page = '<!doctype html><title>Hello</title>' + '<p>Lorem ipsum dolor sit amet, consectetur adipiscing. '.repeat(150)

interface Answer { readonly status: number, readonly headers: Record<string, unknown>, readonly body: Buffer }

async function setup (t: Test, files: (root: string) => void) {
  const root = tempDir(t)
  files(root)
  const lines: Array<Record<string, unknown>> = []
  const logger = pino({ level: 'info' }, { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>) } })
  const { port, ca } = await startApp(t, root, { logger, fileCacheRevalidateMs: 60_000 })
  const agent = new Agent({ connect: { ca } })
  t.teardown(() => agent.close())
  const h1 = async (path: string, headers: Record<string, string>): Promise<Answer> => {
    const res = await request(`https://127.0.0.1:${port}${path}`, { dispatcher: agent, headers })
    return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) }
  }
  const session = connect(`https://localhost:${port}`, { ca, host: '127.0.0.1' } as never)
  session.on('error', () => {})
  t.teardown(() => session.close())
  const h2 = (path: string, headers: Record<string, string>): Promise<Answer> => new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path, ...headers }, { endStream: true })
    const chunks: Buffer[] = []
    let head: IncomingHttpHeaders = {}
    stream.on('response', (h) => { head = h })
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.on('end', () => {
      const { ':status': status, ...rest } = head
      resolve({ status: Number(status), headers: rest, body: Buffer.concat(chunks) })
    })
    stream.on('error', reject)
  })
  return { h1, h2, lines }
}

type Ask = (path: string, headers: Record<string, string>) => Promise<Answer>

/**
 * Asks until the answer comes in `encoding` (each variant is made once, off
 * the request path), at most 200 times; `undefined` takes the first answer.
 */
async function askFor (ask: Ask, path: string, acceptEncoding: string, encoding: string | undefined): Promise<Answer> {
  let answer = await ask(path, { 'accept-encoding': acceptEncoding })
  if (encoding === undefined) return answer
  for (let i = 0; i < 200 && answer.headers['content-encoding'] !== encoding; i++) answer = await ask(path, { 'accept-encoding': acceptEncoding })
  return answer
}

/** The headers but those that differ by the clock or the connection (and HTTP/2's symbol-keyed ones). */
function comparable (headers: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !['date', 'keep-alive', 'connection'].includes(name)))
}

t.test('Accept-Encoding: zstd over HTTP/1.1 and HTTP/2, fast paths and Fastify alike', async (t) => {
  const s = await setup(t, (root) => writeFileSync(join(root, 'index.html'), page))
  const warm = await askFor(s.h1, '/index.html', 'br', 'br')
  t.equal(warm.headers['content-encoding'], 'br')
  const zstd = await askFor(s.h1, '/index.html', 'zstd', hasZstd ? 'zstd' : undefined)
  if (hasZstd) {
    t.equal(zstd.headers['content-encoding'], 'zstd')
    t.equal(zstd.body.readUInt32LE(0), zstdMagic, 'a zstd frame')
    t.equal(zstdDecompressSync?.(zstd.body).toString(), page, 'that decodes to the file')
    t.equal(zstd.headers['content-length'], String(zstd.body.length))
    t.ok(zstd.body.length < page.length / 10, `much smaller: ${zstd.body.length} of ${page.length} bytes`)
  } else {
    t.equal(zstd.headers['content-encoding'], undefined, 'Node 20: no zstd, the file as it is')
    t.equal(zstd.body.toString(), page)
  }
  t.equal(zstd.headers.vary, 'Accept-Encoding')
  t.equal(zstd.headers.etag, warm.headers.etag, 'one ETag for the file, as for brotli and gzip')
  // Every way in gives the same answer: the HTTP/1.1 fast path, Fastify's
  // handler (a query string), the HTTP/2 fast path and its compat layer.
  for (const [name, answer] of [
    ['HTTP/1.1 through Fastify', await s.h1('/index.html?via=fastify', { 'accept-encoding': 'zstd' })],
    ['HTTP/2 fast path', await s.h2('/index.html', { 'accept-encoding': 'zstd' })],
    ['HTTP/2 through Fastify', await s.h2('/index.html?via=fastify', { 'accept-encoding': 'zstd' })]
  ] as const) {
    t.equal(answer.status, 200, name)
    t.same(comparable(answer.headers), comparable(zstd.headers), `${name}: the same headers`)
    t.ok(answer.body.equals(zstd.body), `${name}: the same bytes`)
  }
  const notModified = await s.h2('/index.html', { 'accept-encoding': 'zstd', 'if-none-match': String(zstd.headers.etag) })
  t.equal(notModified.status, 304, 'the ETag validates the zstd answer too')
})

t.test('among encodings accepted alike, the smallest variant; a browser\'s header', async (t) => {
  const s = await setup(t, (root) => writeFileSync(join(root, 'index.html'), page))
  const br = await askFor(s.h1, '/index.html', 'br', 'br')
  const zstd = await askFor(s.h1, '/index.html', 'zstd', hasZstd ? 'zstd' : undefined)
  const gzip = await s.h1('/index.html', { 'accept-encoding': 'gzip' })
  const sizes = { br: br.body.length, gzip: gzip.body.length, ...(hasZstd ? { zstd: zstd.body.length } : {}) }
  const smallest = Object.entries(sizes).sort((a, b) => a[1] - b[1])[0]?.[0]
  for (const header of ['gzip, deflate, br, zstd', 'zstd, br, gzip', '*']) {
    for (const ask of [s.h1, s.h2]) {
      const answer = await ask('/index.html', { 'accept-encoding': header })
      t.equal(answer.headers['content-encoding'], smallest, `${header}: the smallest of ${JSON.stringify(sizes)}`)
    }
  }
  const preferred = await s.h2('/index.html', { 'accept-encoding': 'br;q=0.5, gzip;q=0.5, zstd;q=0.8' })
  t.equal(preferred.headers['content-encoding'], hasZstd ? 'zstd' : (sizes.br < sizes.gzip ? 'br' : 'gzip'), 'a higher q-value wins over a smaller size')
})

// Pinned bytes: zstd level 3 of `twinPage` (Node 24's zstd), 96 bytes. On
// Node 20 the same file is there, and ignored.
const twinPage = '<!doctype html><title>zstd twin</title>' + '<p>Sphinx of black quartz, judge my vow. '.repeat(200)
const zstTwin = Buffer.from('KLUv/WAvH7UCAKQEPCFkb2N0eXBlIGh0bWw+PHRpdGxlPnpzdGQgdHdpbjwvPHA+U3BoaW54IG9mIGJsYWNrIHF1YXJ0eiwganVkZ2UgbXkgdm93LiACAOF+pnoJYZMM', 'base64')
// Quality 1 and level 1, as in precompressed.test.ts: bytes seraph's own quality 11 / level 9 never make.
const brTwin = zlib.brotliCompressSync(twinPage, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 } })
const gzTwin = zlib.gzipSync(twinPage, { level: 1 })

t.test('.zst twins: served as they are from the first request where Node has zstd, the smallest twin wins', async (t) => {
  t.same([zstTwin.length, brTwin.length, gzTwin.length], [96, 101, 169], 'the twins\' sizes: zstd smallest, then brotli, then gzip')
  const s = await setup(t, (root) => {
    writeFileSync(join(root, 'index.html'), twinPage)
    writeFileSync(join(root, 'index.html.zst'), zstTwin)
    writeFileSync(join(root, 'index.html.br'), brTwin)
    writeFileSync(join(root, 'index.html.gz'), gzTwin)
  })
  const first = await s.h1('/index.html', { 'accept-encoding': 'gzip, deflate, br, zstd' })
  if (hasZstd) {
    t.equal(first.headers['content-encoding'], 'zstd', 'the first visitor gets the 96-byte zstd twin')
    t.ok(first.body.equals(zstTwin), 'its own bytes')
  } else {
    t.equal(first.headers['content-encoding'], 'br', 'Node 20: the .zst twin is not read; the 101-byte brotli twin')
    t.ok(first.body.equals(brTwin))
  }
  const h2 = await s.h2('/index.html', { 'accept-encoding': 'zstd' })
  t.equal(h2.headers['content-encoding'], hasZstd ? 'zstd' : undefined, 'HTTP/2, zstd alone')
  t.ok(h2.body.equals(hasZstd ? zstTwin : Buffer.from(twinPage)))
  t.same(s.lines.filter((l) => Number(l.level) >= 40), [], 'no warning: on Node 20 a .zst twin is not checked, so not stale either')
})

t.test('a stale .zst twin is never served: seraph\'s own zstd instead, and the twin named in a warning', async (t) => {
  const edited = twinPage.replace('judge my vow', 'judge my row')
  const s = await setup(t, (root) => {
    writeFileSync(join(root, 'index.html'), edited)
    writeFileSync(join(root, 'index.html.zst'), zstTwin)
  })
  const answer = await askFor(s.h1, '/index.html', 'zstd', hasZstd ? 'zstd' : undefined)
  if (hasZstd) {
    t.equal(answer.headers['content-encoding'], 'zstd')
    t.notOk(answer.body.equals(zstTwin), 'not the twin')
    t.equal(zstdDecompressSync?.(answer.body).toString(), edited, 'zstd of the file as it is now')
    t.same(s.lines.filter((l) => Number(l.level) === 40).map((l) => l.path), ['/index.html.zst'], 'the stale twin named once')
  } else {
    t.equal(answer.headers['content-encoding'], undefined)
    t.equal(answer.body.toString(), edited)
    t.same(s.lines.filter((l) => Number(l.level) >= 40), [], 'Node 20: not read, no warning')
  }
})

t.test('a .zst twin whose frame asks for a window over 8 MiB is not sent: browsers refuse to decode it (RFC 9659)', async (t) => {
  // The same blocks as zstTwin, in a frame without a content size and with a
  // 16 MiB window (descriptor 0x70): zstd itself decodes it to twinPage.
  const wideTwin = Buffer.from('KLUv/QBwtQIApAQ8IWRvY3R5cGUgaHRtbD48dGl0bGU+enN0ZCB0d2luPC88cD5TcGhpbnggb2YgYmxhY2sgcXVhcnR6LCBqdWRnZSBteSB2b3cuIAIA4X6meglhkww=', 'base64')
  if (zstdDecompressSync !== undefined) t.equal(zstdDecompressSync(wideTwin).toString(), twinPage, 'the twin holds the file')
  const s = await setup(t, (root) => {
    writeFileSync(join(root, 'index.html'), twinPage)
    writeFileSync(join(root, 'index.html.zst'), wideTwin)
  })
  const answer = await askFor(s.h1, '/index.html', 'zstd', hasZstd ? 'zstd' : undefined)
  t.notOk(answer.body.equals(wideTwin), 'not the twin')
  if (hasZstd) {
    t.equal(answer.headers['content-encoding'], 'zstd', 'seraph\'s own zstd instead')
    t.equal((answer.body[4] as number) & 0x20, 0x20, 'a single-segment frame: its window is the file')
    t.same(s.lines.filter((l) => Number(l.level) === 40).map((l) => l.path), ['/index.html.zst'], 'named in a warning')
  } else {
    t.equal(answer.body.toString(), twinPage, 'Node 20: the file as it is')
  }
})

t.test('the choice by q-values and size, on fixed variants', async (t) => {
  // Sizes fixed here: brotli 300 bytes, zstd 280, gzip 400, the file 1000.
  const file = { body: Buffer.alloc(1000), br: Buffer.alloc(300), zstd: Buffer.alloc(280), gzip: Buffer.alloc(400) } as unknown as CachedFile
  const cases: Array<[string | undefined, string]> = [
    [undefined, 'identity'],
    ['', 'identity'],
    ['gzip, deflate, br, zstd', 'zstd'],
    ['br, gzip', 'br'],
    ['gzip', 'gzip'],
    ['ZSTD', 'zstd'],
    ['br;q=1, zstd;q=0.9', 'br'],
    ['zstd;q=0, br', 'br'],
    ['zstd;Q=0.5, gzip;q=0.6', 'gzip'],
    ['*', 'zstd'],
    ['*;q=0.5, br', 'br'],
    ['gzip;q=0.4, *;q=0.5', 'zstd'],
    ['zstd;q=0, *', 'br'],
    ['identity', 'identity'],
    ['identity;q=1, zstd;q=0.5', 'identity'],
    ['identity;q=0.5, gzip', 'gzip'],
    ['zstd, identity', 'zstd'],
    ['zstd;q=abc, br;q=0.1', 'br'],
    ['zstd;q=1.5, br;q=0.1', 'br'],
    ['zstd;q=0.001', 'zstd'],
    ['deflate', 'identity'],
    ['zstd;q=0.5, zstd;q=1, gzip;q=0.7', 'gzip']
  ]
  for (const [header, expected] of cases) t.equal(chooseEncoding(file, header), expected, String(header))
  const withoutZstd = { body: Buffer.alloc(1000), br: Buffer.alloc(300), gzip: Buffer.alloc(400) } as unknown as CachedFile
  t.equal(chooseEncoding(withoutZstd, 'zstd'), 'identity', 'no zstd variant (Node 20): the file as it is')
  t.equal(chooseEncoding(withoutZstd, 'zstd, gzip'), 'gzip')
  const gzipSmaller = { body: Buffer.alloc(1000), br: Buffer.alloc(300), zstd: Buffer.alloc(290), gzip: Buffer.alloc(250) } as unknown as CachedFile
  t.equal(chooseEncoding(gzipSmaller, 'gzip, deflate, br, zstd'), 'gzip', 'gzip when it is the smallest')
  t.same([...parseAcceptEncoding(' GZip ;q=0.5 , br;q=1.000,zstd;q=0.25 ')], [['gzip', 0.5], ['br', 1], ['zstd', 0.25]])
})
