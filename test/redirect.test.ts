import { createServer } from 'node:net'
import t from 'tap'
import { request } from 'undici'
import { devCa, getFresh } from './helpers/https-client.js'
import { runSeraph, startSeraph } from './helpers/seraph-process.js'

t.test('--redirect-port answers every plain-HTTP request with a redirect to HTTPS', async (t) => {
  const ca = await devCa()
  const { seraph, port, ready } = await startSeraph(t, ['--workers', '2', '--redirect-port', '0'])
  const redirectPort = ready.redirectPort as number
  t.ok(redirectPort > 0, 'the ready line has the redirect port')
  const ask = async (path: string, host: string, method: 'GET' | 'POST' | 'HEAD' = 'GET') => {
    const res = await request(`http://127.0.0.1:${redirectPort}${path}`, { method, headers: { host } })
    await res.body.dump()
    return { status: res.statusCode, location: res.headers.location }
  }
  t.same(await ask('/posts/hello?x=1&y=2', `localhost:${redirectPort}`), { status: 301, location: `https://localhost:${port}/posts/hello?x=1&y=2` }, 'same host, path and query')
  t.same(await ask('/', 'blog.example.org'), { status: 301, location: `https://blog.example.org:${port}/` })
  t.same(await ask('/', '[::1]:80', 'HEAD'), { status: 301, location: `https://[::1]:${port}/` })
  t.same(await ask('/form', 'localhost', 'POST'), { status: 308, location: `https://localhost:${port}/form` }, '308 keeps the method')
  for (const host of ['evil.example/path', 'user@evil.example', 'evil.example\\x', 'a b', '', '-bad.example', 'localhost:99999999']) {
    t.equal((await ask('/', host)).status, 400, `Host ${JSON.stringify(host)} is refused`)
  }
  t.equal((await ask('//evil.example/x', 'localhost')).status, 400, 'a scheme-relative path cannot turn into another host')
  t.equal((await getFresh(ca, port, '/healthz')).status, 200, 'HTTPS keeps working')
  const line = await seraph.waitForLine((l) => l.msg === 'request' && l.scheme === 'http' && l.status === 301, 'an access line for a redirect')
  t.match(line, { role: 'worker', method: 'GET' })
})

t.test('--redirect-port already in use is refused like --port', async (t) => {
  const blocker = createServer()
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
  t.teardown(() => blocker.close())
  const { port } = blocker.address() as { port: number }
  const result = await runSeraph(t, ['--host', '127.0.0.1', '--port', '0', '--workers', '1', '--redirect-port', String(port)])
  t.equal(result.code, 1)
  t.match(result.stderr, new RegExp(`^seraph: --redirect-port ${port}: address .* is already in use \\[SERAPH_ERR_PORT_IN_USE\\]\\n$`))
})
