import { symlinkSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { Agent, request } from 'undici'
import { devCa, rawRequest } from './helpers/https-client.js'
import { startSeraph } from './helpers/seraph-process.js'

// A 200 rewrite serves a file of the root and nothing else: a TO with `..`
// is skipped when the file is read, a TO through a link out of the root is
// refused like any such file, a TO naming the rules files or a dotfile finds
// nothing, and a request that smuggles `..` into a splat is refused before
// any rule is looked at.

t.test('a rewrite cannot reach outside the root, by .. or by a link', async (t) => {
  const dir = t.testdir({
    site: {
      'index.html': '<p>home</p>',
      '.env': 'SECRET=1',
      _redirects: [
        '/leak /../outside/secret.txt 200',
        '/leak-encoded /a/%2e%2e/%2e%2e/outside/secret.txt 200',
        '/linked /door/secret.txt 200',
        '/linked-splat/* /door/:splat 200',
        '/files/* /:splat 200',
        '/rules /_redirects 200',
        '/dotfile /.env 200',
        '/redirect-up /../x 301'
      ].join('\n')
    },
    outside: { 'secret.txt': 'the secret outside the root' }
  })
  const root = join(dir, 'site')
  // A link in the root to a folder outside it.
  symlinkSync(join(dir, 'outside'), join(root, 'door'))
  const ca = await devCa()
  const { seraph, port } = await startSeraph(t, ['--workers', '1', '--root', root])
  for (const agent of [new Agent({ connect: { ca } }), new Agent({ connect: { ca }, allowH2: true })]) {
    t.teardown(() => agent.close())
    for (const path of ['/leak', '/leak-encoded', '/linked', '/linked-splat/secret.txt', '/files/door/secret.txt', '/rules', '/dotfile', '/door/secret.txt']) {
      const res = await request(`https://127.0.0.1:${port}${path}`, { dispatcher: agent })
      const body = await res.body.text()
      t.equal(res.statusCode, 404, `${path}: 404`)
      t.notOk(body.includes('secret') || body.includes('SECRET') || body.includes('/leak /'), `${path}: nothing of what lies outside, of the dotfile or of the rules`)
    }
  }
  // `..` in the request itself never reaches the rules (request-guard.ts).
  const smuggled = await rawRequest(ca, port, 'GET /files/..%2f..%2foutside/secret.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
  t.match(smuggled, /^HTTP\/1\.1 400 /, 'an encoded slash in the path: 400')
  const dotted = await rawRequest(ca, port, 'GET /files/../../outside/secret.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
  t.match(dotted, /^HTTP\/1\.1 400 /, 'a dot segment: 400')
  t.same(seraph.lines.filter((l) => l.msg === 'site rule line skipped').map((l) => [l.line, l.reason]), [
    [1, 'TO leads outside the root ("..", an encoded slash or backslash, or a NUL)'],
    [2, 'TO leads outside the root ("..", an encoded slash or backslash, or a NUL)'],
    [8, 'TO leads outside the root ("..", an encoded slash or backslash, or a NUL)']
  ], 'the TOs with .. are skipped when the file is read')
  const refused = seraph.lines.filter((l) => l.msg.startsWith('refused a file outside the root'))
  t.ok(refused.some((l) => l.path === '/door/secret.txt'), 'the link out of the root is refused and logged, by the path asked for')
  t.notOk(JSON.stringify(seraph.lines).includes(join(dir, 'outside')), 'and the link\'s target is never logged')
})

t.test('a _redirects that is itself a link out of the root is not read', async (t) => {
  const dir = t.testdir({ site: { 'index.html': '<p>home</p>' }, outside: { rules: '/index.html /elsewhere 301!\n' } })
  const root = join(dir, 'site')
  symlinkSync(join(dir, 'outside', 'rules'), join(root, '_redirects'))
  const ca = await devCa()
  const { seraph, port } = await startSeraph(t, ['--workers', '1', '--root', root])
  const agent = new Agent({ connect: { ca } })
  t.teardown(() => agent.close())
  const res = await request(`https://127.0.0.1:${port}/index.html`, { dispatcher: agent })
  await res.body.text()
  t.equal(res.statusCode, 200, 'its rule does not apply')
  const warning = await seraph.waitForLine((l) => l.msg === 'site rules file not used', 'the warning')
  t.match(warning, { level: 40, file: '_redirects', reason: 'refused (outside the root): ignored' })
})
