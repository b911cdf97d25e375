import { mkdirSync, writeFileSync } from 'node:fs'
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2'
import { join } from 'node:path'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { tempDir } from './helpers/certificates.js'
import { startApp } from './helpers/in-process-app.js'

// The HTTP/2 fast path (src/worker/http2-fast-path.ts) answers on the stream
// API, before Node's compat layer and Fastify. These tests send each kind of
// request over HTTP/2 to it and, with a query string (which the fast path
// never takes), through the compat layer and Fastify's handler for the same
// file, and compare everything a client or an operator sees.

const page = '<!doctype html><title>Hello</title>' + '<p>Lorem ipsum dolor sit amet. '.repeat(200)

interface Answer { status: number, headers: IncomingHttpHeaders, body: Buffer }

async function setup (t: Test) {
  const root = tempDir(t)
  mkdirSync(join(root, 'posts'))
  writeFileSync(join(root, 'index.html'), page)
  writeFileSync(join(root, 'posts', 'hello.html'), '<p>hello post</p>')
  writeFileSync(join(root, 'posts', 'other.html'), '<p>other post</p>')
  writeFileSync(join(root, 'empty.txt'), '')
  // Cached (≤ 1 MiB), and far more than a stream's first flow-control window.
  writeFileSync(join(root, 'large.txt'), 'All work and no play. '.repeat(30_000))
  const lines: Array<Record<string, unknown>> = []
  const logger = pino({ level: 'info' }, { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>) } })
  const statuses: number[] = []
  let draining = false
  const { app, port, ca } = await startApp(t, root, { logger, fileCacheRevalidateMs: 60_000, onResponse: (status) => statuses.push(status), isDraining: () => draining })
  // Every request that reaches the compat layer (and so Fastify, through the
  // HTTP/1 fast path's wrapper) is an Http2ServerRequest emitted as 'request'.
  let compatRequests = 0
  app.server.on('request', () => { compatRequests++ })
  const session = connect(`https://localhost:${port}`, { ca, host: '127.0.0.1' } as never)
  session.on('error', () => {})
  t.teardown(() => session.close())
  return {
    session,
    ask: (path: string, headers: Record<string, string> = {}, method = 'GET') => ask(session, path, headers, method),
    accessLines: () => lines.filter((l) => l.msg === 'request'),
    warnings: () => lines.filter((l) => Number(l.level) >= 40).map((l) => l.msg),
    statuses,
    compatRequests: () => compatRequests,
    drain: (state: boolean) => { draining = state }
  }
}

function ask (session: ClientHttp2Session, path: string, headers: Record<string, string>, method: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': method, ':path': path, ...headers }, { endStream: true })
    const chunks: Buffer[] = []
    let head: IncomingHttpHeaders = {}
    stream.on('response', (h) => { head = h })
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks) }))
    stream.on('error', reject)
  })
}

/** The headers in their order, `date` aside (it is the current second). */
function comparable (headers: IncomingHttpHeaders): Array<[string, unknown]> {
  return Object.entries(headers).filter(([name]) => name !== 'date')
}

t.test('over HTTP/2 the fast path answers exactly like the compat layer and Fastify', async (t) => {
  const s = await setup(t)
  let warm = await s.ask('/index.html', { 'accept-encoding': 'br, gzip' })
  // Compression runs off the request path: wait for both variants.
  for (let i = 0; i < 200 && warm.headers['content-encoding'] !== 'br'; i++) warm = await s.ask('/index.html', { 'accept-encoding': 'br, gzip' })
  t.equal(warm.headers['content-encoding'], 'br')
  const etag = String(warm.headers.etag)
  const lastModified = String(warm.headers['last-modified'])
  // [name, path, headers, method, taken by the fast path]
  const cases = (draining: boolean): Array<[string, string, Record<string, string>, string, boolean]> => [
    ['plain', '/index.html', {}, 'GET', true],
    ['brotli', '/index.html', { 'accept-encoding': 'br' }, 'GET', true],
    ['gzip', '/index.html', { 'accept-encoding': 'gzip, br;q=0' }, 'GET', true],
    ['identity', '/index.html', { 'accept-encoding': 'identity' }, 'GET', true],
    ['HEAD', '/index.html', { 'accept-encoding': 'br' }, 'HEAD', true],
    ['304 by ETag', '/index.html', { 'if-none-match': etag, 'accept-encoding': 'br' }, 'GET', true],
    ['an empty file', '/empty.txt', {}, 'GET', true],
    ['a tag that does not match', '/index.html', { 'if-none-match': '"other"' }, 'GET', false],
    ['If-Modified-Since', '/index.html', { 'if-modified-since': lastModified }, 'GET', false],
    ['Range', '/index.html', { range: 'bytes=10-19' }, 'GET', false],
    // Not cached yet: a file never asked for in each round.
    ['a miss', draining ? '/posts/other.html' : '/posts/hello.html', {}, 'GET', false],
    ['a 404', '/nothing-here.html', {}, 'GET', false],
    ['a query string', '/index.html?page=2', { 'accept-encoding': 'br' }, 'GET', false],
    ['HEAD 304', '/index.html', { 'if-none-match': etag }, 'HEAD', true],
    // The compat layer sends the interim 100 response, then the request.
    ['Expect: 100-continue', '/index.html', { expect: '100-continue' }, 'GET', false]
  ]
  // The empty file is cached by its first answer.
  await s.ask('/empty.txt')
  for (const draining of [false, true]) {
    s.drain(draining)
    for (const [name, path, headers, method, taken] of cases(draining)) {
      const label = `${name}${draining ? ', draining' : ''}`
      const compatBefore = s.compatRequests()
      const linesBefore = s.accessLines().length
      const statusesBefore = s.statuses.length
      const sent = performance.now()
      const fast = await s.ask(path, headers, method)
      const took = performance.now() - sent
      t.equal(s.compatRequests() - compatBefore, taken ? 0 : 1, `${label}: ${taken ? 'answered by the fast path' : 'went on to the compat layer'}`)
      const fullPath = `${path}${path.includes('?') ? '&' : '?'}via=fastify`
      const full = await s.ask(fullPath, headers, method)
      t.equal(s.compatRequests() - compatBefore, taken ? 1 : 2, `${label}: the query string went to Fastify`)

      t.equal(fast.status, full.status, `${label}: same status`)
      t.same(comparable(fast.headers), comparable(full.headers), `${label}: same headers in the same order`)
      t.ok(fast.body.equals(full.body), `${label}: same body`)
      t.notOk('connection' in fast.headers, `${label}: no connection header (a draining HTTP/2 worker sends GOAWAY)`)

      const [fastLine, fullLine] = s.accessLines().slice(linesBefore)
      const fields = (line: Record<string, unknown> | undefined) => {
        const { time: _time, ms: _ms, url: _url, ...rest } = line ?? {}
        return rest
      }
      t.equal(fastLine?.http, '2.0', `${label}: the access line says HTTP/2`)
      t.equal(fastLine?.remote, '127.0.0.1', `${label}: and the client's address`)
      t.equal(fastLine?.url, path, `${label}: and the URL`)
      t.same(fields(fastLine), fields(fullLine), `${label}: the same access line`)
      const ms = Number(fastLine?.ms)
      t.ok(ms >= 0 && ms <= took, `${label}: the access line's duration (${ms} ms) is within the request's (${took.toFixed(2)} ms)`)
      t.same(s.statuses.slice(statusesBefore), [fast.status, full.status], `${label}: the same status counted`)
    }
  }
})

t.test('over HTTP/2 the fast path answers cached files without the compat layer or Fastify', async (t) => {
  const s = await setup(t)
  await s.ask('/index.html')
  const before = s.compatRequests()
  const answers = await Promise.all(Array.from({ length: 50 }, () => s.ask('/index.html')))
  t.same(answers.map((a) => a.status), Array(50).fill(200))
  t.equal(s.compatRequests(), before, 'no request reached the compat layer')
  t.equal(s.accessLines().length, 51, 'each got its access line')
  t.equal(s.statuses.length, 51, 'and was counted')
  t.same(s.warnings(), [], 'no warning: the fast path says it is installed')
})

t.test('a client that resets a stream while the fast path sends its body ends that stream only', async (t) => {
  const s = await setup(t)
  const first = await s.ask('/large.txt')
  t.equal(first.status, 200)
  const before = s.compatRequests()
  const reset = await new Promise<number>((resolve) => {
    const stream = s.session.request({ ':path': '/large.txt' }, { endStream: true })
    stream.on('error', () => {})
    // The body waits for the client's flow-control window: the server's stream is still open.
    stream.once('response', () => stream.close(constants.NGHTTP2_INTERNAL_ERROR))
    stream.on('close', () => resolve(stream.rstCode ?? -1))
  })
  t.equal(reset, constants.NGHTTP2_INTERNAL_ERROR, 'the stream was reset by the client')
  t.equal(s.compatRequests(), before, 'and had been answered by the fast path')
  const next = await s.ask('/index.html')
  t.equal(next.status, 200, 'the session and the worker serve on')
})
