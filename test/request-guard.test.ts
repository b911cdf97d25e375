import t from 'tap'
import { isSafeRequestPath } from '../src/request-guard.js'
import { devCa, rawRequest } from './helpers/https-client.js'
import { startSeraph } from './helpers/seraph-process.js'

t.test('ordinary paths pass', async (t) => {
  for (const path of ['/', '/index.html', '/posts/a-b_c/', '/css/style.css?v=3', '/a%20b.html', '/caf%C3%A9/', '/file.with.dots.txt', '/..file', '/x?next=/../y']) {
    t.ok(isSafeRequestPath(path), path)
  }
})

t.test('escapes and file-system tricks are refused', async (t) => {
  for (const path of ['/../x', '/a/../../x', '/%2e%2e/x', '/%2E%2e/x', '/.%2e/x', '/a%2fb', '/a%2Fb', '/a%5cb', '/a\\b',
    '/a\0b', '/a%00b', '/%E0%A4%A', '/..', '/a/..']) {
    t.notOk(isSafeRequestPath(path), JSON.stringify(path))
  }
})

t.test('against the built CLI, every escape is answered by the guard (400 invalid path), never by the file lookup (404)', async (t) => {
  const ca = await devCa()
  const { port } = await startSeraph(t, ['--workers', '1'])
  const answer = async (path: string): Promise<string> => rawRequest(ca, port, `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`)
  for (const path of ['/../package.json', '/posts/../../package.json', '/%2e%2e/package.json', '/.%2e/package.json', '/posts%2f..%2f..%2fpackage.json',
    '/a%5c..%5cpackage.json', '/index.html%00.txt', '/a\\b']) {
    const text = await answer(path)
    t.match(text, /^HTTP\/1\.1 400 /, `${path}: 400`)
    t.match(text, /"invalid path"/, `${path}: refused by the guard`)
  }
  t.match(await answer('/index.html'), /^HTTP\/1\.1 200 /, 'an ordinary path is served')
})
