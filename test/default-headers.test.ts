import { readFileSync, utimesSync } from 'node:fs'
import { join } from 'node:path'
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
