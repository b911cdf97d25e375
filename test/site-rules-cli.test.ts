import { join } from 'node:path'
import t from 'tap'
import { Agent, request } from 'undici'
import { devCa } from './helpers/https-client.js'
import { startSeraph } from './helpers/seraph-process.js'

// The documented examples of Netlify's and Cloudflare Pages' `_redirects`
// and `_headers`, through the built CLI, over HTTP/1.1 and HTTP/2 alike:
// splats, placeholders, shadowing and `!`, 200 rewrites, 404 pages,
// absolute targets, query strings, several header blocks, `! Name`, and
// the two files themselves answering 404.

const page = (name: string) => `<!doctype html><title>${name}</title>` + `<p>${name}. `.repeat(60)

const site = {
  'index.html': page('home'),
  '404.html': '<p>the site 404 page</p>',
  'old.html': page('old, still here'),
  'forced.html': page('forced: never served'),
  posts: { 'hello.html': page('hello'), embed: { 'widget.html': page('widget') } },
  app: { 'index.html': page('app shell') },
  en: { '404.html': '<p>the English 404 page</p>', 'present.html': page('present') },
  fonts: { 'a.woff2': 'wOF2 not really a font' },
  _redirects: [
    "# Netlify's and Cloudflare Pages' examples, adapted to this site",
    '/home / 301',
    '/news/* /blog/:splat',
    '/blog/* /posts/:splat 301',
    '/archive/:year/:month/:date/:slug /posts/:slug 302',
    '/querystrings /?query=string 301',
    '/twitch https://twitch.tv',
    '/trailing /trailing/ 301',
    '/old /posts/hello 301',
    '/forced /posts/hello 302!',
    '/pass-through /index.html 200',
    '/app/* /app/index.html 200',
    '/en/* /en/404.html 404',
    '/ecommerce /store-closed 404',
    '/page/ /page2/#fragment 301',
    '/see-other /posts/hello 303',
    '/temporary /posts/hello 307',
    '/permanent /posts/hello 308',
    '/store id=:id /blog/:id 301'
  ].join('\n'),
  _headers: [
    '/*',
    '  X-Robots-Tag: noindex',
    '/posts/*',
    '  Cache-Control: public, max-age=60',
    '  Link: </posts/>; rel="index"',
    '/posts/embed/*',
    '  ! Content-Security-Policy',
    '  ! X-Frame-Options',
    '/fonts/*',
    '  Access-Control-Allow-Origin: *'
  ].join('\n')
}

interface Expected {
  status: number
  headers?: Record<string, string | undefined>
  /** The body holds this text. */
  body?: string
}

// [path, request headers, method, expected]
const cases: Array<[string, Record<string, string>, 'GET' | 'HEAD', Expected]> = [
  ['/home', {}, 'GET', { status: 301, headers: { location: '/', 'x-robots-tag': 'noindex' } }],
  ['/news/2024/hello', {}, 'GET', { status: 301, headers: { location: '/blog/2024/hello' } }],
  ['/blog/hello?ref=feed&x=1', {}, 'GET', { status: 301, headers: { location: '/posts/hello?ref=feed&x=1' } }],
  ['/blog/hello', {}, 'HEAD', { status: 301, headers: { location: '/posts/hello' } }],
  ['/archive/2024/05/01/hello', {}, 'GET', { status: 302, headers: { location: '/posts/hello' } }],
  ['/querystrings?a=b', {}, 'GET', { status: 301, headers: { location: '/?query=string' } }],
  ['/twitch/', {}, 'GET', { status: 301, headers: { location: 'https://twitch.tv' } }],
  ['/trailing', {}, 'GET', { status: 301, headers: { location: '/trailing/' } }],
  ['/trailing/', {}, 'GET', { status: 404, body: 'the site 404 page' }],
  ['/page?a=b', {}, 'GET', { status: 301, headers: { location: '/page2/?a=b#fragment' } }],
  ['/see-other', {}, 'GET', { status: 303, headers: { location: '/posts/hello' } }],
  ['/temporary', {}, 'GET', { status: 307, headers: { location: '/posts/hello' } }],
  ['/permanent', {}, 'GET', { status: 308, headers: { location: '/posts/hello' } }],
  // A file shadows a rule without "!"; with it, the rule wins.
  ['/old', {}, 'GET', { status: 200, body: 'old, still here', headers: { location: undefined } }],
  ['/forced', {}, 'GET', { status: 302, headers: { location: '/posts/hello' } }],
  ['/forced.html', {}, 'GET', { status: 200, body: 'forced: never served' }],
  // 200: the address stays, the file named by TO answers.
  ['/pass-through', {}, 'GET', { status: 200, body: 'home', headers: { location: undefined, 'x-robots-tag': 'noindex' } }],
  ['/app/settings/profile', {}, 'GET', { status: 200, body: 'app shell' }],
  ['/app/settings', {}, 'HEAD', { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' } }],
  // 404 pages per folder; an existing file under the folder is served.
  ['/en/missing', {}, 'GET', { status: 404, body: 'the English 404 page', headers: { 'x-robots-tag': 'noindex', 'cache-control': 'no-cache' } }],
  ['/en/present', {}, 'GET', { status: 200, body: 'present' }],
  ['/ecommerce', {}, 'GET', { status: 404, body: 'the site 404 page' }],
  // Query-string conditions are not supported: that line is skipped.
  ['/store?id=3', {}, 'GET', { status: 404 }],
  // The two files are the site's, not served.
  ['/_redirects', {}, 'GET', { status: 404, body: 'the site 404 page' }],
  ['/_headers', {}, 'GET', { status: 404, body: 'the site 404 page' }],
  ['/_headers', {}, 'HEAD', { status: 404 }],
  // _headers: blocks add up, replace seraph's header of the same name, `! Name` removes one.
  ['/posts/hello', {}, 'GET', { status: 200, body: 'hello', headers: { 'cache-control': 'public, max-age=60', link: '</posts/>; rel="index"', 'x-robots-tag': 'noindex', 'x-frame-options': 'DENY' } }],
  ['/posts/hello', { range: 'bytes=0-9' }, 'GET', { status: 206, body: '<!doctype ', headers: { 'cache-control': 'public, max-age=60', link: '</posts/>; rel="index"', 'content-range': 'bytes 0-9/' + String(page('hello').length) } }],
  ['/posts/hello', {}, 'HEAD', { status: 200, headers: { 'cache-control': 'public, max-age=60', link: '</posts/>; rel="index"' } }],
  ['/posts/embed/widget.html', {}, 'GET', { status: 200, headers: { 'content-security-policy': undefined, 'x-frame-options': undefined, 'x-content-type-options': 'nosniff', 'cache-control': 'public, max-age=60' } }],
  ['/fonts/a.woff2', {}, 'GET', { status: 200, headers: { 'access-control-allow-origin': '*', 'x-robots-tag': 'noindex', 'cache-control': 'public, max-age=3600' } }],
  ['/index.html', {}, 'GET', { status: 200, headers: { 'x-robots-tag': 'noindex', link: undefined, 'cache-control': 'public, max-age=300' } }],
  // /healthz is seraph's, not the site's.
  ['/healthz', {}, 'GET', { status: 200, headers: { 'x-robots-tag': undefined } }]
]

t.test("Netlify's and Cloudflare Pages' documented cases over HTTP/1.1 and HTTP/2", async (t) => {
  const dir = t.testdir({ site })
  const ca = await devCa()
  const { seraph, port } = await startSeraph(t, ['--workers', '1', '--root', join(dir, 'site')])
  const agents = { 'HTTP/1.1': new Agent({ connect: { ca } }), 'HTTP/2': new Agent({ connect: { ca }, allowH2: true }) }
  t.teardown(() => Promise.all(Object.values(agents).map((a) => a.close())))
  for (const [protocol, agent] of Object.entries(agents)) {
    // Twice each: the second time, cached pages come from the fast paths.
    for (const round of ['first', 'again']) {
      for (const [path, headers, method, expected] of cases) {
        const label = `${protocol} ${method} ${path}${headers.range === undefined ? '' : ' ' + headers.range} (${round})`
        const res = await request(`https://127.0.0.1:${port}${path}`, { dispatcher: agent, headers, method })
        const body = await res.body.text()
        t.equal(res.statusCode, expected.status, `${label}: status`)
        for (const [name, value] of Object.entries(expected.headers ?? {})) t.equal(res.headers[name], value, `${label}: ${name}`)
        if (expected.body !== undefined) t.ok(body.includes(expected.body), `${label}: the body holds "${expected.body}"`)
        if (method === 'HEAD') t.equal(body, '', `${label}: no body`)
      }
    }
    // 304 at a path with header rules: the same edits.
    const first = await request(`https://127.0.0.1:${port}/posts/hello`, { dispatcher: agent })
    await first.body.text()
    const notModified = await request(`https://127.0.0.1:${port}/posts/hello`, { dispatcher: agent, headers: { 'if-none-match': String(first.headers.etag) } })
    await notModified.body.text()
    t.equal(notModified.statusCode, 304, `${protocol}: 304 by ETag`)
    t.equal(notModified.headers['cache-control'], 'public, max-age=60', `${protocol}: the 304 has _headers' Cache-Control`)
    t.equal(notModified.headers.link, '</posts/>; rel="index"', `${protocol}: and its Link`)
    // A rewrite answers 304 for the file it serves.
    const rewritten = await request(`https://127.0.0.1:${port}/pass-through`, { dispatcher: agent })
    await rewritten.body.text()
    const rewritten304 = await request(`https://127.0.0.1:${port}/pass-through`, { dispatcher: agent, headers: { 'if-none-match': String(rewritten.headers.etag) } })
    await rewritten304.body.text()
    t.equal(rewritten304.statusCode, 304, `${protocol}: a rewrite's file answers 304 by its ETag`)
  }
  const skipped = seraph.lines.filter((l) => l.msg === 'site rule line skipped')
  t.same(skipped.map((l) => [l.file, l.line, l.reason]), [['_redirects', 19, 'query-string conditions (key=value after FROM) are not supported']], 'the one unsupported line, logged once with its number and reason')
  // The two files load concurrently: either may be logged first.
  t.same(seraph.lines.filter((l) => l.msg === 'site rules loaded').map((l) => [l.file, l.rules, l.skipped]).sort(), [['_headers', 4, 0], ['_redirects', 17, 1]])
  t.same(seraph.lines.filter((l) => l.level >= 50), [], 'no error logged')
})
