import t from 'tap'
import { devCa, rawRequest } from './helpers/https-client.js'
import { startSeraph } from './helpers/seraph-process.js'

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
