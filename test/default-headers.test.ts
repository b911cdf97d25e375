import { readFileSync, utimesSync } from 'node:fs'
import { join } from 'node:path'
import * as https from 'node:https'
import t from 'tap'
import { Agent, request } from 'undici'
import { makeCertificate } from './helpers/certificates.js'
import { startSeraph } from './helpers/seraph-process.js'

// The whole default header set of a cached page, names and values, pinned
// (issue 31): a header that appears, disappears or changes its value fails
// here, over HTTP/1.1 and HTTP/2, on Fastify's first answer and on the fast
// path's answers after it. The four legacy headers (X-XSS-Protection,
// X-Download-Options, X-Permitted-Cross-Domain-Policies,
// X-DNS-Prefetch-Control) are gone; a site adds its own with `_headers`.

// 461 bytes of HTML: cached, compressible (≥ 256 bytes, so `vary`), asked
// for without Accept-Encoding (so no `content-encoding`).
const page = '<!doctype html><title>Pinned</title>\n' + '<p>The default headers of a cached page, pinned.</p>\n'.repeat(8)
const mtime = new Date('2024-03-01T12:00:00Z')

const securityHeaders = {
  // helmet joins the directives without spaces.
  'content-security-policy': "default-src 'self';img-src 'self' data:;style-src 'self';script-src 'self';font-src 'self';object-src 'none';base-uri 'self';form-action 'self';frame-ancestors 'none'",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'strict-transport-security': 'max-age=31536000',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY'
}

const fileHeaders = {
  'cache-control': 'public, max-age=300',
  'last-modified': 'Fri, 01 Mar 2024 12:00:00 GMT',
  // The first 27 characters of the base64url SHA-256 of `page`.
  etag: '"TRNvOsiEM1OVXgXZWB5UjOGFed8"',
  'accept-ranges': 'bytes',
  'content-type': 'text/html; charset=utf-8',
  'content-length': '461',
  vary: 'Accept-Encoding'
}

t.test('a cached page carries exactly the default headers, over HTTP/1.1 and HTTP/2', async (t) => {
  const dir = t.testdir({ site: { 'page.html': page } })
  const root = join(dir, 'site')
  utimesSync(join(root, 'page.html'), mtime, mtime)
  const cert = await makeCertificate(dir, 'real')
  const ca = readFileSync(cert.ca)
  const { port } = await startSeraph(t, ['--workers', '1', '--root', root, '--cert', cert.cert, '--key', cert.key])
  const h1 = new Agent({ connect: { ca } })
  const h2 = new Agent({ connect: { ca }, allowH2: true })
  t.teardown(() => Promise.all([h1.close(), h2.close()]))
  const expected = {
    1: { ...securityHeaders, ...fileHeaders, connection: 'keep-alive', 'keep-alive': 'timeout=10' },
    2: { ...securityHeaders, ...fileHeaders }
  }
  for (const [version, agent] of [[1, h1], [2, h2]] as const) {
    // The first answer is Fastify's (the file is read then), the others the fast path's.
    for (const round of ['first', 'second', 'third']) {
      const res = await request(`https://127.0.0.1:${port}/page.html`, { dispatcher: agent })
      t.equal((await res.body.text()).length, page.length)
      const { date, ...headers } = res.headers
      t.match(date, /^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/, `HTTP/${version} ${round}: a date`)
      t.same(headers, expected[version], `HTTP/${version} ${round} answer: exactly these headers`)
    }
  }
})

interface RawAnswer { status: number | undefined, rawHeaders: string[] }

// node:https, not undici: its rawHeaders keep the order and any repeated name.
function getRaw (port: number, ca: Buffer, agent: https.Agent): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/page.html', ca, agent }, (res) => {
      res.resume()
      res.on('end', () => { resolve({ status: res.statusCode, rawHeaders: res.rawHeaders }) })
    })
    req.on('error', reject)
  })
}

const namesOf = (raw: string[]): string[] => raw.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase())

// The HTTP/1.1 fast path writes a header list prepared once per file version
// (cached-response.ts, answerHttp1): the same headers in the same order as
// Fastify's answer, each name once, and a Date Node writes per answer — a
// list prepared once must not carry the Date of the first answer.
t.test('HTTP/1.1: the fast path sends Fastify\'s headers in Fastify\'s order, each once, with a fresh Date', async (t) => {
  const dir = t.testdir({ site: { 'page.html': page } })
  const root = join(dir, 'site')
  utimesSync(join(root, 'page.html'), mtime, mtime)
  const cert = await makeCertificate(dir, 'real')
  const ca = readFileSync(cert.ca)
  const { port } = await startSeraph(t, ['--workers', '1', '--root', root, '--cert', cert.cert, '--key', cert.key])
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => { agent.destroy() })
  const fastify = await getRaw(port, ca, agent)
  const fast = await getRaw(port, ca, agent)
  t.equal(fastify.status, 200)
  t.equal(fast.status, 200)
  t.same(namesOf(fast.rawHeaders), namesOf(fastify.rawHeaders), 'the same names in the same order as Fastify\'s first answer')
  const names = namesOf(fast.rawHeaders)
  t.same(names, [...new Set(names)], 'no name twice')
  t.same(names.slice(-3), ['date', 'connection', 'keep-alive'], 'Node adds date, connection and keep-alive after the prepared list')
  const dateOf = (answer: RawAnswer): number => Date.parse(answer.rawHeaders[answer.rawHeaders.findIndex((v, i) => i % 2 === 0 && v.toLowerCase() === 'date') + 1] ?? '')
  const first = dateOf(fast)
  t.ok(Math.abs(first - Date.now()) < 2000, 'the Date is now')
  await new Promise((resolve) => setTimeout(resolve, 1100))
  const later = await getRaw(port, ca, agent)
  t.ok(dateOf(later) > first, `a later fast-path answer has a later Date (${dateOf(later)} > ${first})`)
  t.same(namesOf(later.rawHeaders), names, 'and the same headers')
})
