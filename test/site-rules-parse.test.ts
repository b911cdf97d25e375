import t from 'tap'
import { parseHeaders } from '../src/worker/site-rules/parse-headers.js'
import { parseRedirects, type RedirectRule } from '../src/worker/site-rules/parse-redirects.js'
import { compilePattern, matchDynamic, substitute } from '../src/worker/site-rules/path-pattern.js'

// The parsers of `_redirects` and `_headers` (src/worker/site-rules/), fed
// the examples of Netlify's and Cloudflare Pages' documentation and the
// lines they get wrong, with every expected value written out here.

/** A rule as plain data: the pattern's key or regular expression source. */
function plain (rule: RedirectRule) {
  const from = rule.from.kind === 'static' ? { key: rule.from.key } : { regex: rule.from.regex.source, names: rule.from.names }
  return { line: rule.line, from, to: rule.to, status: rule.status, force: rule.force, external: rule.external }
}

t.test('path patterns: static keys, splats, placeholders, trailing slashes', async (t) => {
  t.same(compilePattern('/home'), { kind: 'static', key: '/home' })
  t.same(compilePattern('/trailing/'), { kind: 'static', key: '/trailing' }, 'one trailing slash dropped')
  t.same(compilePattern('/'), { kind: 'static', key: '/' })
  t.same(compilePattern('/authors/c%C3%A9line'), { kind: 'static', key: '/authors/céline' }, 'decoded')
  const splat = compilePattern('/blog/*')
  t.same(splat, { kind: 'dynamic', regex: /^\/blog(?:\/(.*))?\/?$/u, names: ['splat'] })
  const inner = compilePattern('/*.jpg')
  t.same(inner, { kind: 'dynamic', regex: /^\/(.*)\.jpg\/?$/u, names: ['splat'] })
  const placeholders = compilePattern('/news/:year/:month/:date/:slug/')
  t.same(placeholders, { kind: 'dynamic', regex: /^\/news\/([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)\/?$/u, names: ['year', 'month', 'date', 'slug'] })
  t.same(compilePattern('/:year-:slug.html'), { kind: 'dynamic', regex: /^\/([^/-]+)-([^/.]+)\.html\/?$/u, names: ['year', 'slug'] }, 'a placeholder stops at the character that follows it')
  t.equal(compilePattern('blog'), 'the path must start with "/" (rules for another host are not supported)')
  t.equal(compilePattern('/a/*/b/*'), 'more than one "*" in the path')
  t.equal(compilePattern('/:a/:a'), 'a placeholder name used twice in the path')
  t.equal(compilePattern('/:splat'), '":splat" is the name of "*": not a placeholder')
  t.equal(compilePattern('/%E0%A4%A'), 'the path is not valid percent-encoding')
  t.equal(compilePattern('/a%5Cb'), 'the path holds a NUL or a backslash')
  // The regular expression is what matching uses: check it on paths.
  if (typeof splat !== 'string' && splat.kind === 'dynamic') {
    t.ok(splat.regex.test('/blog'), '/blog/* matches the folder itself')
    t.ok(splat.regex.test('/blog/a/b/'))
    t.notOk(splat.regex.test('/blogger'))
  }
  if (typeof inner !== 'string' && inner.kind === 'dynamic') t.notOk(inner.regex.test('/photoxjpg'), 'the dot is literal')
})

t.test('a path that does not match fails in linear time, however many placeholders share a segment', async (t) => {
  const pattern = compilePattern('/:a-:b-:c-:d-:e-:f')
  if (typeof pattern === 'string' || pattern.kind !== 'dynamic') throw new Error('not dynamic')
  // Greedy `([^/]+)` groups would try every way to place five dashes among
  // a thousand: C(1000, 5) ≈ 8·10^12 steps.
  const path = '/' + 'a-'.repeat(1000) + '/x'
  const started = performance.now()
  t.equal(matchDynamic(pattern, path), undefined)
  t.ok(performance.now() - started < 1000, `failed in ${(performance.now() - started).toFixed(1)} ms`)
  t.same(matchDynamic(pattern, '/1-2-3-4-5-six-and-more'), new Map([['a', '1'], ['b', '2'], ['c', '3'], ['d', '4'], ['e', '5'], ['f', 'six-and-more']]))
  t.equal(matchDynamic(pattern, '/1-2-3-4-5-' + 'x'.repeat(2048)), undefined, 'past 2,048 characters only static rules apply')
})

t.test('substitution percent-encodes values: a splat segment by segment', async (t) => {
  const params = new Map([['splat', 'a b/c?d'], ['slug', 'x/y é'], ['year', '2024']])
  t.equal(substitute('/posts/:splat', params), '/posts/a%20b/c%3Fd')
  t.equal(substitute('/p/:year/:slug?from=:year', params), '/p/2024/x%2Fy%20%C3%A9?from=2024')
  t.equal(substitute('https://example.com:8443/:nope', params), 'https://example.com:8443/:nope', 'unknown names and ports stay')
})

t.test("Netlify's documented _redirects examples", async (t) => {
  const text = [
    '# Redirects from what the browser requests to what we serve',
    '/home              /',
    '/blog/my-post.php  /blog/my-post',
    '/news              /blog',
    '/cuties            https://www.petsofnetlify.com',
    '/authors/c%C3%A9line /authors/about-c%C3%A9line',
    '/my-redirect  /              302',
    '/ecommerce    /store-closed  404',
    '/pass-through /index.html    200',
    '/en/* /en/404.html 404',
    '/news/* /blog/:splat',
    '/news/:year/:month/:date/:slug /blog/:slug',
    '/app/ /app/index.html 200!',
    '/store id=:id /blog/:id 301',
    '/ /anz 302 Country=au,nz'
  ].join('\n')
  const { rules, problems } = parseRedirects(text)
  t.same(rules.map(plain), [
    { line: 2, from: { key: '/home' }, to: '/', status: 301, force: false, external: false },
    { line: 3, from: { key: '/blog/my-post.php' }, to: '/blog/my-post', status: 301, force: false, external: false },
    { line: 4, from: { key: '/news' }, to: '/blog', status: 301, force: false, external: false },
    { line: 5, from: { key: '/cuties' }, to: 'https://www.petsofnetlify.com', status: 301, force: false, external: true },
    { line: 6, from: { key: '/authors/céline' }, to: '/authors/about-c%C3%A9line', status: 301, force: false, external: false },
    { line: 7, from: { key: '/my-redirect' }, to: '/', status: 302, force: false, external: false },
    { line: 8, from: { key: '/ecommerce' }, to: '/store-closed', status: 404, force: false, external: false },
    { line: 9, from: { key: '/pass-through' }, to: '/index.html', status: 200, force: false, external: false },
    { line: 10, from: { regex: '^\\/en(?:\\/(.*))?\\/?$', names: ['splat'] }, to: '/en/404.html', status: 404, force: false, external: false },
    { line: 11, from: { regex: '^\\/news(?:\\/(.*))?\\/?$', names: ['splat'] }, to: '/blog/:splat', status: 301, force: false, external: false },
    { line: 12, from: { regex: '^\\/news\\/([^/]+)\\/([^/]+)\\/([^/]+)\\/([^/]+)\\/?$', names: ['year', 'month', 'date', 'slug'] }, to: '/blog/:slug', status: 301, force: false, external: false },
    { line: 13, from: { key: '/app' }, to: '/app/index.html', status: 200, force: true, external: false }
  ])
  t.same(problems, [
    { line: 14, reason: 'query-string conditions (key=value after FROM) are not supported' },
    { line: 15, reason: 'conditions (Country=, Language=, Role=, Cookie=…) are not supported' }
  ])
})

t.test("Cloudflare Pages' documented _redirects example", async (t) => {
  const text = [
    '/home301 / 301',
    '/home302 / 302',
    '/querystrings /?query=string 301',
    '/twitch https://twitch.tv',
    '/trailing /trailing/ 301',
    '/notrailing/ /nottrailing 301',
    '/page/ /page2/#fragment 301',
    '/blog/* https://blog.my.domain/:splat',
    '/products/:code/:name /products?code=:code&name=:name',
    '/movies/:title /media/:title',
    '/a /b 307',
    '/c /d 303'
  ].join('\r\n')
  const { rules, problems } = parseRedirects(text)
  t.same(problems, [])
  t.same(rules.map((r) => [r.line, r.to, r.status, r.external]), [
    [1, '/', 301, false],
    [2, '/', 302, false],
    [3, '/?query=string', 301, false],
    [4, 'https://twitch.tv', 301, true],
    [5, '/trailing/', 301, false],
    [6, '/nottrailing', 301, false],
    [7, '/page2/#fragment', 301, false],
    [8, 'https://blog.my.domain/:splat', 301, true],
    [9, '/products?code=:code&name=:name', 301, false],
    [10, '/media/:title', 301, false],
    [11, '/b', 307, false],
    [12, '/d', 303, false]
  ], 'statuses as given, 301 where none is (Netlify\'s default; Cloudflare\'s is 302)')
})

t.test('bad _redirects lines: each skipped with its line number and reason', async (t) => {
  const lines = [
    '/ok /fine',
    '/lonely',
    '/a /b 299',
    '/a /b 410',
    '/a /b permanent',
    '/a /b 301 extra',
    '/leak /../etc/passwd 200',
    '/leak2 /a/%2e%2e/%2e%2e/etc/passwd 200',
    '/leak3 /a%2fb 200',
    '/proxy/* https://api.example.com/:splat 200',
    '/page https://example.com/gone 404',
    '/rel relative/path',
    '/other //evil.example/x',
    '/typo/:slug /posts/:slgu',
    '/nosplat /posts/:splat',
    '/bad-url https://[::1',
    '/.well-known/acme-challenge/* /elsewhere/:splat',
    '/x%zz /y',
    `/${'a'.repeat(1000)} /b`,
    '/é /café # a comment after the rule',
    '   # an indented comment',
    '',
    '/ok2 /fine2 301! # forced'
  ]
  const { rules, problems } = parseRedirects(lines.join('\n'))
  t.same(rules.map((r) => [r.line, r.to, r.status, r.force]), [
    [1, '/fine', 301, false],
    [20, '/caf%C3%A9', 301, false],
    [23, '/fine2', 301, true]
  ])
  t.same(problems, [
    { line: 2, reason: 'no TO: a rule is FROM TO [STATUS]' },
    { line: 3, reason: 'status 299 is not supported (301, 302, 303, 307, 308, 200 or 404)' },
    { line: 4, reason: 'status 410 is not supported (301, 302, 303, 307, 308, 200 or 404)' },
    { line: 5, reason: '"permanent" is not a status' },
    { line: 6, reason: 'unexpected "extra" after the status' },
    { line: 7, reason: 'TO leads outside the root ("..", an encoded slash or backslash, or a NUL)' },
    { line: 8, reason: 'TO leads outside the root ("..", an encoded slash or backslash, or a NUL)' },
    { line: 9, reason: 'TO leads outside the root ("..", an encoded slash or backslash, or a NUL)' },
    { line: 10, reason: 'a 200 rule needs a path in the root for TO (seraph does not proxy)' },
    { line: 11, reason: 'a 404 rule needs a path in the root for TO (seraph does not proxy)' },
    { line: 12, reason: 'TO must be a path starting with "/" or an http(s):// URL' },
    { line: 13, reason: 'TO starting with "//" names another host: write https://host/… instead' },
    { line: 14, reason: 'TO uses ":slgu", which FROM does not define' },
    { line: 15, reason: 'TO uses ":splat", which FROM does not define' },
    { line: 16, reason: 'TO is not a valid URL' },
    { line: 17, reason: 'rules never apply below /.well-known/ (certificates are validated there)' },
    { line: 18, reason: 'FROM: the path is not valid percent-encoding' },
    { line: 19, reason: 'longer than 1000 characters' }
  ])
})

t.test('limits: 2,000 static and 100 dynamic rules, the rest ignored with one problem each', async (t) => {
  const statics = Array.from({ length: 2005 }, (_, i) => `/old/${i} /new/${i}`)
  const dynamics = Array.from({ length: 103 }, (_, i) => `/d${i}/:slug /new/:slug`)
  const { rules, problems } = parseRedirects([...statics, ...dynamics].join('\n'))
  t.equal(rules.length, 2100)
  t.equal(rules.filter((r) => r.from.kind === 'static').length, 2000)
  t.equal(rules.at(-1)?.line, 2105, 'the 100th dynamic rule is on line 2,105')
  t.same(problems, [
    { line: 2001, reason: 'more than 2000 static rules: this one and the later static rules are ignored', overLimit: true },
    { line: 2106, reason: 'more than 100 dynamic rules: this one and the later dynamic rules are ignored', overLimit: true }
  ])
})

t.test("Cloudflare Pages' documented _headers examples", async (t) => {
  const text = [
    '# This is a comment',
    '/secure/page',
    '  X-Frame-Options: DENY',
    '  X-Content-Type-Options: nosniff',
    '  Referrer-Policy: no-referrer',
    '',
    '/static/*',
    '  Access-Control-Allow-Origin: *',
    '  X-Robots-Tag: nosnippet',
    '',
    'https://myproject.pages.dev/*',
    '  X-Robots-Tag: noindex',
    '',
    '/*',
    "  Content-Security-Policy: default-src 'self';",
    '/*.jpg',
    '  ! Content-Security-Policy',
    '/movies/:title',
    '  x-movie-name: You are watching ":title"'
  ].join('\n')
  const { blocks, problems } = parseHeaders(text)
  t.same(blocks.map((b) => ({ line: b.line, set: [...b.set], remove: [...b.remove], substitutes: b.substitutes })), [
    { line: 2, set: [['x-frame-options', 'DENY'], ['x-content-type-options', 'nosniff'], ['referrer-policy', 'no-referrer']], remove: [], substitutes: false },
    { line: 7, set: [['access-control-allow-origin', '*'], ['x-robots-tag', 'nosnippet']], remove: [], substitutes: false },
    { line: 14, set: [['content-security-policy', "default-src 'self';"]], remove: [], substitutes: false },
    { line: 16, set: [], remove: ['content-security-policy'], substitutes: false },
    { line: 18, set: [['x-movie-name', 'You are watching ":title"']], remove: [], substitutes: true }
  ])
  t.same(problems, [{ line: 11, reason: 'absolute URLs (rules for one host) are not supported' }], 'its header line goes with it, unreported')
})

t.test("Netlify's documented _headers example: a name given twice in a block is joined", async (t) => {
  const text = [
    '# a path:',
    '/templates/index.html',
    '  # headers for that path:',
    '  X-Frame-Options: DENY',
    '/templates/index2.html',
    '  X-Frame-Options: SAMEORIGIN',
    '# multi-value header:',
    '/*',
    '  cache-control: max-age=0',
    '  cache-control: no-cache',
    '  Cache-Control: no-store',
    '  cache-control: must-revalidate'
  ].join('\n')
  const { blocks, problems } = parseHeaders(text)
  t.same(problems, [])
  t.same(blocks.map((b) => [b.line, [...b.set]]), [
    [2, [['x-frame-options', 'DENY']]],
    [5, [['x-frame-options', 'SAMEORIGIN']]],
    [8, [['cache-control', 'max-age=0, no-cache, no-store, must-revalidate']]]
  ])
})

t.test('bad _headers lines: each skipped with its line number and reason', async (t) => {
  const text = [
    '  X-Early: before any path',
    '/ok',
    '  X-Fine: yes',
    '  Bad Name: x',
    '  X-Empty:',
    '  X-Newline: a\u0001b',
    '  X-Unicode: café',
    '  Content-Length: 5',
    '  ! Content-Length',
    '  ! Bad Name',
    '  Basic-Auth: someuser:somepassword',
    '  just words',
    '/a/*/b/*',
    '  X-Under-A-Bad-Path: skipped with it',
    `/${'a'.repeat(2000)}`,
    '  X-Under-A-Long-Path: skipped with it',
    '/ok2',
    `  X-Long: ${'v'.repeat(2000)}`,
    '  X-Value-With-Colons: a:b:c'
  ].join('\n')
  const { blocks, problems } = parseHeaders(text)
  t.same(blocks.map((b) => [b.line, [...b.set], [...b.remove]]), [
    [2, [['x-fine', 'yes']], []],
    [17, [['x-value-with-colons', 'a:b:c']], []]
  ])
  t.same(problems, [
    { line: 1, reason: 'a header line before any path line' },
    { line: 4, reason: '"Bad Name" is not a valid header name' },
    { line: 5, reason: 'no value after ":"' },
    { line: 6, reason: 'the value holds a control or non-ASCII character (percent-encode it, or use RFC 8187 encoding)' },
    { line: 7, reason: 'the value holds a control or non-ASCII character (percent-encode it, or use RFC 8187 encoding)' },
    { line: 8, reason: 'seraph sets content-length itself, per response: it cannot be set or removed here' },
    { line: 9, reason: 'seraph sets content-length itself, per response: it cannot be set or removed here' },
    { line: 10, reason: '"Bad Name" is not a valid header name' },
    { line: 11, reason: "Netlify's Basic-Auth (password protection) is not supported: not sent" },
    { line: 12, reason: 'neither a path, a "Name: value" line nor a "! Name" line' },
    { line: 13, reason: 'more than one "*" in the path' },
    { line: 15, reason: 'longer than 2000 characters' },
    { line: 18, reason: 'longer than 2000 characters' }
  ])
})

t.test('limit: 100 header rules, the rest ignored with one problem', async (t) => {
  const text = Array.from({ length: 103 }, (_, i) => `/p${i}\n  X-N: ${i}`).join('\n')
  const { blocks, problems } = parseHeaders(text)
  t.equal(blocks.length, 100)
  t.equal(blocks.at(-1)?.set.get('x-n'), '99')
  t.same(problems, [{ line: 201, reason: 'more than 100 header rules: this one and the later ones are ignored', overLimit: true }])
})
