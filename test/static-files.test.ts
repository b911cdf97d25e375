import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { extname, join, relative } from 'node:path'
import t, { type Test } from 'tap'
import { bundledPublicDir } from '../src/shared/package-info.js'
import { get, keepAliveAgent, rawRequest } from './helpers/https-client.js'
import { startApp } from './helpers/in-process-app.js'

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.xml': 'application/xml',
  '.svg': 'image/svg+xml',
  '.png': 'image/png'
}

function filesBelow (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesBelow(join(dir, entry.name)) : [join(dir, entry.name)])
}

/** The sample blog served in-process, and a keep-alive client for it. */
async function serveBlog (t: Test) {
  const { port, ca } = await startApp(t, bundledPublicDir)
  const agent = keepAliveAgent(ca)
  t.teardown(() => agent.close())
  return { port, agent }
}

t.test('every file in public/ is served byte-identical with its content type', async (t) => {
  const { port, agent } = await serveBlog(t)
  const files = filesBelow(bundledPublicDir)
  t.ok(files.length >= 10, `the sample blog has its files (${files.length})`)
  for (const file of files) {
    const urlPath = '/' + relative(bundledPublicDir, file).split('\\').join('/')
    const res = await get(agent, port, urlPath)
    t.equal(res.status, 200, `${urlPath}: 200`)
    t.ok(res.body.equals(readFileSync(file)), `${urlPath}: same bytes`)
    const expected = contentTypes[extname(file)]
    t.ok(expected, `${urlPath}: a known type`)
    t.match(String(res.headers['content-type']), expected ?? 'unknown', `${urlPath}: ${expected ?? ''}`)
  }
})

t.test('index.html for / and directories, a redirect for a directory without its slash', async (t) => {
  const { port, agent } = await serveBlog(t)
  const post = await get(agent, port, '/posts/tls-in-five-minutes/')
  t.equal(post.status, 200)
  t.ok(post.body.equals(readFileSync(join(bundledPublicDir, 'posts/tls-in-five-minutes/index.html'))))
  const bare = await get(agent, port, '/posts/tls-in-five-minutes')
  t.equal(bare.status, 301)
  t.equal(bare.headers.location, '/posts/tls-in-five-minutes/')
  const head = await get(agent, port, '/', 'HEAD')
  t.equal(head.status, 200)
  t.equal(head.body.length, 0)
})

t.test('404 page with status 404, healthz as JSON', async (t) => {
  const { port, agent } = await serveBlog(t)
  const missing = await get(agent, port, '/no/such/page')
  t.equal(missing.status, 404)
  t.ok(missing.body.equals(readFileSync(join(bundledPublicDir, '404.html'))), 'the body is public/404.html')
  t.match(String(missing.headers['content-type']), 'text/html')
  const health = await get(agent, port, '/healthz')
  t.equal(health.status, 200)
  t.match(JSON.parse(health.body.toString()), { status: 'ok', pid: process.pid, worker: 1 })
})

t.test('no path escapes the root and no dotfile is served', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'seraph-root-'))
  t.teardown(() => rmSync(base, { recursive: true, force: true }))
  const root = join(base, 'site')
  const secret = 'TOP-SECRET-MARKER'
  mkdirSync(join(root, '.git'), { recursive: true })
  mkdirSync(join(root, 'sub'))
  writeFileSync(join(root, 'index.html'), '<h1>public</h1>')
  writeFileSync(join(root, 'sub', 'page.html'), '<p>sub</p>')
  writeFileSync(join(root, '.env'), secret)
  writeFileSync(join(root, '.git', 'config'), secret)
  writeFileSync(join(root, 'sub', '.hidden.html'), secret)
  writeFileSync(join(base, 'outside.txt'), secret)
  writeFileSync(join(base, 'site..txt'), secret)
  t.ok(statSync(join(base, 'outside.txt')).isFile())

  const { port, ca } = await startApp(t, root)
  const attempts = [
    '/../outside.txt',
    '/sub/../../outside.txt',
    '/%2e%2e/outside.txt',
    '/%2E%2E/outside.txt',
    '/.%2e/outside.txt',
    '/%2e%2e%2foutside.txt',
    '/..%2foutside.txt',
    '/..%2Foutside.txt',
    '/sub/..%2f..%2foutside.txt',
    '/..%5coutside.txt',
    '/..\\outside.txt',
    '/sub\\..\\..\\outside.txt',
    '/%2e%2e%5coutside.txt',
    '/..%252foutside.txt',
    '/%252e%252e/outside.txt',
    '/index.html%00.png',
    '/%00/../outside.txt',
    '/..%00/outside.txt',
    '//../outside.txt',
    '/%2f..%2foutside.txt',
    '/.env',
    '/%2eenv',
    '/.git/config',
    '/.git/',
    '/%2egit/config',
    '/sub/.hidden.html',
    '/sub/%2ehidden.html',
    '/../site..txt'
  ]
  for (const path of attempts) {
    const answer = await rawRequest(ca, port, `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`)
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1])
    t.ok(status >= 400 && status < 500, `${path}: refused with ${status}`)
    t.notMatch(answer, secret, `${path}: no secret in the answer`)
  }
  const ok = await rawRequest(ca, port, 'GET /sub/page.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
  t.match(ok, /^HTTP\/1\.1 200/, 'a normal file in the same root is served')
  t.match(extname('/x.html'), '.html')
})
