import { rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { RootConfinement } from '../src/worker/root-confinement.js'
import { applyEdit } from '../src/worker/site-rules/header-edit.js'
import { SiteRules } from '../src/worker/site-rules/site-rules.js'

// What SiteRules answers for a path, read from real `_redirects` and
// `_headers` files: precedence, shadowing, queries, loops, .well-known,
// header blocks that add up and `! Name`. Over HTTP in site-rules-cli.test.ts.

/** The part of forPath() the fast paths read. */
function pathRules (rules: SiteRules, path: string) {
  const { forced, headers } = rules.forPath(path)
  return { forced, headers }
}

async function rulesFor (t: Test, files: Record<string, string>, outside: Record<string, string> = {}) {
  // One testdir per test (a second call would empty the first): the site and what lies outside it.
  const dir = t.testdir({ site: files, outside })
  const root = join(dir, 'site')
  const lines: Array<Record<string, unknown>> = []
  const logger = pino({ level: 'info' }, { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>) } })
  const rules = new SiteRules({ root, confinement: new RootConfinement({ root, followSymlinks: false, privatePaths: [] }), logger, checkIntervalMs: 60_000 })
  await rules.start()
  t.teardown(() => rules.stop())
  return { root, outside: join(dir, 'outside'), rules, lines }
}

t.test('no rules files: inactive, nothing matches', async (t) => {
  const { rules, lines } = await rulesFor(t, { 'index.html': 'x' })
  t.equal(rules.active, false)
  t.equal(rules.route('/anything', '', false), undefined)
  t.same(pathRules(rules, '/anything'), { forced: false, headers: undefined })
  t.same(lines, [], 'nothing logged')
})

t.test('_redirects: file order decides between static and dynamic rules; shadowing; forced rules', async (t) => {
  const { rules } = await rulesFor(t, {
    _redirects: [
      '/blog/:slug /dynamic-first/:slug 302',
      '/blog/fixed /static-second 302',
      '/exact /static-first 302',
      '/page /not-forced 302',
      '/page /forced 307!',
      '/:any /dynamic-second/:any 302'
    ].join('\n')
  })
  t.equal(rules.active, true)
  t.same(rules.route('/blog/fixed', '', false), { kind: 'redirect', status: 302, location: '/dynamic-first/fixed' })
  t.same(rules.route('/exact', '', false), { kind: 'redirect', status: 302, location: '/static-first' })
  t.same(rules.route('/other', '', false), { kind: 'redirect', status: 302, location: '/dynamic-second/other' })
  t.same(rules.route('/page', '', false), { kind: 'redirect', status: 302, location: '/not-forced' }, 'no file: the first rule')
  t.same(rules.route('/page', '', true), { kind: 'redirect', status: 307, location: '/forced' }, 'a file: only a forced rule')
  t.equal(rules.route('/exact', '', true), undefined, 'a file shadows a rule without !')
  t.same(pathRules(rules, '/page'), { forced: true, headers: undefined })
  t.same(pathRules(rules, '/exact'), { forced: false, headers: undefined })
})

t.test('_redirects: trailing slashes, queries, fragments, loops, encodings, .well-known', async (t) => {
  const { rules } = await rulesFor(t, {
    _redirects: [
      '/trailing /trailing/ 301',
      '/notrailing/ /nottrailing 301',
      '/querystrings /?query=string 301',
      '/page/ /page2/#fragment 301',
      '/blog/* /posts/:splat',
      '/products/:code/:name /products?code=:code&name=:name',
      '/authors/c%C3%A9line /authors/about-c%C3%A9line',
      '/self /self 302',
      '/* /index.html 200'
    ].join('\n')
  })
  const redirect = (location: string, status = 301) => ({ kind: 'redirect', status, location })
  t.same(rules.route('/trailing', '', false), redirect('/trailing/'))
  t.same(rules.route('/trailing/', '', false), { kind: 'rewrite', path: '/index.html' }, 'its own target: passed over, the next rule answers')
  t.same(rules.route('/notrailing/', '', false), redirect('/nottrailing'))
  t.same(rules.route('/notrailing', '?x=1', false), redirect('/nottrailing?x=1'), 'matched without its slash, the query kept')
  t.same(rules.route('/querystrings', '?a=b', false), redirect('/?query=string'), 'TO with its own query replaces the request\'s')
  t.same(rules.route('/page', '?a=b', false), redirect('/page2/?a=b#fragment'), 'the query goes before the fragment')
  t.same(rules.route('/blog/2024/hello world', '', false), redirect('/posts/2024/hello%20world'))
  t.same(rules.route('/blog', '', false), redirect('/posts/'), 'a folder splat matches the folder')
  t.same(rules.route('/products/a b/c&d', '', false), redirect('/products?code=a%20b&name=c%26d'))
  t.same(rules.route('/authors/céline', '', false), redirect('/authors/about-c%C3%A9line'), 'the decoded path matches the encoded FROM')
  t.same(rules.route('/self', '', false), { kind: 'rewrite', path: '/index.html' }, 'a rule to itself is passed over')
  t.equal(rules.route('/.well-known/acme-challenge/token', '', false), undefined, 'no rule below /.well-known/')
  t.same(rules.route('/deep/link', '', false), { kind: 'rewrite', path: '/index.html' })
  t.equal(rules.route('/Trailing', '', true), undefined, 'case-sensitive: /Trailing is another path, and a file shadows /*')
})

t.test('_redirects: 200 rewrites and 404 pages name decoded paths in the root', async (t) => {
  const { rules } = await rulesFor(t, {
    _redirects: [
      '/en/* /en/404.html 404',
      '/app/:view /app%20shell/index.html?view=:view 200',
      '/files/* /store/:splat 200!'
    ].join('\n')
  })
  t.same(rules.route('/en/missing', '', false), { kind: 'not-found-page', path: '/en/404.html' })
  t.equal(rules.route('/en/present', '', true), undefined, 'an existing file under /en/ is served')
  t.same(rules.route('/app/settings', '?x', false), { kind: 'rewrite', path: '/app shell/index.html' }, 'the TO\'s query is dropped for a file')
  t.same(rules.route('/files/a/b.txt', '', true), { kind: 'rewrite', path: '/store/a/b.txt' }, 'forced: even where a file exists')
})

t.test('_headers: every matching block adds up, values joined, ! Name wins wherever it is', async (t) => {
  const { rules } = await rulesFor(t, {
    _headers: [
      '/secure/page',
      '  X-Frame-Options: DENY',
      '  X-Content-Type-Options: nosniff',
      '  Referrer-Policy: no-referrer',
      '/static/*',
      '  Access-Control-Allow-Origin: *',
      '  X-Robots-Tag: nosnippet',
      '/*',
      '  X-Robots-Tag: noindex',
      '/static/*.jpg',
      '  ! Content-Security-Policy',
      '  ! X-Robots-Tag',
      '/movies/:title',
      '  X-Movie-Name: You are watching ":title"'
    ].join('\n')
  })
  t.same(rules.headersFor('/secure/page'), { set: [['x-frame-options', 'DENY'], ['x-content-type-options', 'nosniff'], ['referrer-policy', 'no-referrer'], ['x-robots-tag', 'noindex']], remove: [] })
  t.same(rules.headersFor('/static/styles.css'), { set: [['access-control-allow-origin', '*'], ['x-robots-tag', 'nosnippet, noindex']], remove: [] })
  t.same(rules.headersFor('/static/a.jpg'), { set: [['access-control-allow-origin', '*']], remove: ['content-security-policy', 'x-robots-tag'] })
  t.same(rules.headersFor('/movies/Les Misérables'), { set: [['x-robots-tag', 'noindex'], ['x-movie-name', 'You are watching "Les%20Mis%C3%A9rables"']], remove: [] }, 'a placeholder value is percent-encoded')
  t.equal(rules.headersFor('/static/b.css'), rules.headersFor('/static/styles.css'), 'paths the same blocks match share one edit')
  t.equal(rules.route('/static/a.jpg', '', false), undefined, 'no _redirects: no outcome')
  t.same(rules.forPath('/static/a.jpg').forced, false)
})

t.test('applyEdit: a set name keeps its place, a new one comes last, a removed one goes, no content-type on a 304', async (t) => {
  const base = { 'content-security-policy': 'x', 'cache-control': 'public, max-age=300', etag: '"e"', 'content-type': 'text/html' }
  const edit = { set: [['cache-control', 'no-store'], ['x-new', 'y'], ['content-type', 'text/plain']] as const, remove: ['content-security-policy'] }
  t.same(Object.entries(applyEdit(base, edit, 200)), [['cache-control', 'no-store'], ['etag', '"e"'], ['content-type', 'text/plain'], ['x-new', 'y']])
  t.same(Object.entries(applyEdit({ 'cache-control': 'a', etag: '"e"' }, edit, 304)), [['cache-control', 'no-store'], ['etag', '"e"'], ['x-new', 'y']])
  t.same(base, { 'content-security-policy': 'x', 'cache-control': 'public, max-age=300', etag: '"e"', 'content-type': 'text/html' }, 'the prepared headers stay as they were')
})

t.test('a changed file is applied at the next check; a removed one takes its rules with it; both are never served', async (t) => {
  const { root, rules, lines } = await rulesFor(t, { _redirects: '/a /b 302\n', 'real.txt': '/c /d 302\n' })
  t.same(rules.route('/a', '', false), { kind: 'redirect', status: 302, location: '/b' })
  t.equal(rules.isRulesFile(join(root, '_redirects'), join(root, '_redirects')), true)
  t.equal(rules.isRulesFile(join(root, '_headers'), join(root, '_headers')), true, 'by its path even before it exists')
  t.equal(rules.isRulesFile(join(root, 'index.html'), join(root, 'index.html')), false)
  writeFileSync(join(root, '_redirects'), '/a /changed 302\n/bad\n')
  await rules.check()
  t.same(rules.route('/a', '', false), { kind: 'redirect', status: 302, location: '/changed' }, 'the remembered answer went with the old version')
  t.match(lines.filter((l) => l.msg !== 'site rules loaded'), [{ level: 40, file: '_redirects', line: 2, reason: 'no TO: a rule is FROM TO [STATUS]', msg: 'site rule line skipped' }])
  t.match(lines.filter((l) => l.msg === 'site rules loaded'), [{ file: '_redirects', rules: 1, skipped: 0 }, { file: '_redirects', rules: 1, skipped: 1 }])
  const before = lines.length
  await rules.check()
  t.equal(lines.length, before, 'an unchanged file is not read or logged again')
  // A link to another file of the root: that file becomes a rules file, never served.
  rmSync(join(root, '_redirects'))
  symlinkSync('real.txt', join(root, '_redirects'))
  await rules.check()
  t.same(rules.route('/c', '', false), { kind: 'redirect', status: 302, location: '/d' })
  t.equal(rules.isRulesFile(join(root, 'real.txt'), join(root, 'real.txt')), true, 'where the link leads is not served either')
  rmSync(join(root, '_redirects'))
  await rules.check()
  t.equal(rules.active, false)
  t.equal(rules.route('/c', '', false), undefined)
  t.match(lines.at(-1), { level: 30, file: '_redirects', msg: 'site rules removed' })
})

t.test('a rules file that is a link out of the root is not read: one warning, not one per check', async (t) => {
  const { root, outside, rules, lines } = await rulesFor(t, {}, { _redirects: '/a /secret 302\n' })
  symlinkSync(join(outside, '_redirects'), join(root, '_redirects'))
  await rules.check()
  await rules.check()
  t.equal(rules.active, false)
  t.same(lines.map((l) => [l.level, l.file, l.reason, l.msg]), [[40, '_redirects', 'refused (outside the root): ignored', 'site rules file not used']])
})
