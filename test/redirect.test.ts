import { once } from 'node:events'
import { connect, createServer, type Socket } from 'node:net'
import t from 'tap'
import { request } from 'undici'
import { settled, total } from './helpers/admin-metrics.js'
import { devCa, getFresh } from './helpers/https-client.js'
import { closes } from './helpers/proxy-attacks.js'
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

t.test('every connection of the redirect port is counted once, with the cause of its close', async (t) => {
  const { ready } = await startSeraph(t, ['--workers', '2', '--redirect-port', '0', '--admin-port', '0', '--keep-alive-timeout', '300ms', '--headers-timeout', '600ms'])
  const redirectPort = ready.redirectPort as number
  const adminUrl = ready.adminUrl as string
  const before = await settled(adminUrl)
  const closings: Array<Promise<unknown>> = []
  const open = async (): Promise<Socket> => {
    const socket = connect(redirectPort, '127.0.0.1')
    socket.on('error', () => {})
    // Listened for from the start: some close before the last one is opened.
    closings.push(once(socket, 'close'))
    await once(socket, 'connect')
    return socket
  }
  const request = (connection: string): string => `GET /x HTTP/1.1\r\nHost: localhost\r\nConnection: ${connection}\r\n\r\n`

  // A redirect on a connection the client asked to close: normal.
  const plain = await open()
  plain.end(request('close'))
  plain.resume()
  // A redirect, then nothing: closed by the keep-alive timeout.
  const idle = await open()
  idle.write(request('keep-alive'))
  idle.resume()
  // Bytes that are not HTTP: the parser's error.
  const garbage = await open()
  garbage.write('\x16\x03\x01 not http\r\n\r\n')
  garbage.resume()
  // Half a request, then silence: the headers timeout.
  const slow = await open()
  slow.write('GET /x HTTP/1.1\r\nHost: local')
  // Half a request, then the client leaves (a FIN: a reset this early is
  // read as end of stream or as a reset, depending on timing).
  const left = await open()
  left.end('GET /x HTTP/1.1\r\nHost: local')
  // A redirect, then a reset.
  const reset = await open()
  reset.write(request('keep-alive'))
  await once(reset, 'data')
  reset.resetAndDestroy()
  await Promise.all(closings)

  const after = await settled(adminUrl)
  t.equal(total(after, 'seraph_connections_opened_total') - total(before, 'seraph_connections_opened_total'), 6, 'six connections opened')
  t.same(closes(after, before), {
    'normal: ': 1,
    'timeout: idle': 1,
    'http_error: HPE_INVALID_METHOD': 1,
    'timeout: headers': 1,
    'client_closed: during request': 1,
    'client_reset: ': 1
  }, 'each closed once, with its cause')
})
