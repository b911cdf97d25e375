import t from 'tap'
import { isSafeRequestPath } from '../src/worker/request-guard.js'

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
