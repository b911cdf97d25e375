import { connect } from 'node:tls'
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { brotliDecompressSync } from 'node:zlib'
import { Agent, request } from 'undici'
import { bundledPublicDir } from '../src/shared/package-info.js'
import { devCa, get } from './helpers/https-client.js'
import { startLoad } from './helpers/load.js'
import { startSeraph } from './helpers/seraph-process.js'

function negotiated (port: number, ca: Buffer): Promise<string | false> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: ['h2', 'http/1.1'] }, () => {
      resolve(socket.alpnProtocol ?? false)
      socket.end()
    })
    socket.on('error', reject)
  })
}

t.test('HTTP/2 over ALPN by default, HTTP/1.1 for clients without it', async (t) => {
  const ca = await devCa()
  const { seraph, port } = await startSeraph(t, ['--workers', '2'])
  t.equal(await negotiated(port, ca), 'h2', 'ALPN picks h2')
  const h2 = new Agent({ connect: { ca }, allowH2: true })
  const h1 = new Agent({ connect: { ca } })
  t.teardown(() => Promise.all([h2.close(), h1.close()]))
  t.equal((await get(h2, port, '/index.html')).status, 200)
  t.equal((await get(h1, port, '/about/')).status, 200)
  const h2Line = await seraph.waitForLine((l) => l.msg === 'request' && l.url === '/index.html', 'the h2 access line')
  const h1Line = await seraph.waitForLine((l) => l.msg === 'request' && l.url === '/about/', 'the h1 access line')
  t.equal(h2Line.http, '2.0')
  t.equal(h1Line.http, '1.1')
})

t.test('over HTTP/2 too: brotli by Accept-Encoding, 304 by ETag, ranges, security headers', async (t) => {
  const ca = await devCa()
  const { port } = await startSeraph(t, ['--workers', '1'])
  const h2 = new Agent({ connect: { ca }, allowH2: true })
  t.teardown(() => h2.close())
  const ask = async (path: string, headers: Record<string, string> = {}) => {
    const res = await request(`https://127.0.0.1:${port}${path}`, { dispatcher: h2, headers })
    return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) }
  }
  let res = await ask('/index.html', { 'accept-encoding': 'br' })
  for (let i = 0; i < 200 && res.headers['content-encoding'] !== 'br'; i++) res = await ask('/index.html', { 'accept-encoding': 'br' })
  t.equal(res.headers['content-encoding'], 'br')
  t.ok(brotliDecompressSync(res.body).equals(readFileSync(join(bundledPublicDir, 'index.html'))))
  t.equal((await ask('/index.html', { 'if-none-match': String(res.headers.etag) })).status, 304)
  const part = await ask('/images/wallpaper-2560.png', { range: 'bytes=10-19' })
  t.equal(part.status, 206)
  t.equal(part.body.length, 10)
  t.equal(res.headers['x-content-type-options'], 'nosniff')
})

t.test('--no-http2 serves HTTP/1.1 only', async (t) => {
  const ca = await devCa()
  const { port } = await startSeraph(t, ['--workers', '1', '--no-http2'])
  t.not(await negotiated(port, ca), 'h2')
})

t.test('rolling reloads under HTTP/2 load: GOAWAY moves clients on, zero failed requests', async (t) => {
  const ca = await devCa()
  const { seraph, port } = await startSeraph(t, ['--workers', '2', '--keep-alive-timeout', '1s', '--shutdown-timeout', '3s'])
  const load = startLoad(ca, port, { keepAlive: 2, fresh: 1, http2: 6 })
  t.teardown(() => load.stop())
  await load.answers(100)
  for (let i = 0; i < 3; i++) {
    const done = seraph.nextLine((l) => l.msg === 'reload complete', 'reload complete')
    seraph.signal('SIGHUP')
    await done
    await load.answers(150)
  }
  const result = await load.stop()
  t.same(result.errors, [], `zero failed requests (${result.ok} answered)`)
  t.ok(seraph.lines.some((l) => l.msg === 'request' && l.http === '2.0'), 'the load was HTTP/2')
  t.ok(result.goaways >= 3, `${result.goaways} GOAWAYs moved the HTTP/2 client on`)
  t.ok(result.keepAliveRequests > 5 * result.keepAliveConnections, `HTTP/1.1 keep-alive was real: ${result.keepAliveRequests} requests on ${result.keepAliveConnections} connections`)
})
