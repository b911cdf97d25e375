import t from 'tap'
import { tempDir } from './helpers/certificates.js'
import { startHaproxy } from './helpers/haproxy.js'
import { devCa } from './helpers/https-client.js'
import { requestThrough } from './helpers/proxy-client.js'
import { startSeraph, type LogLine } from './helpers/seraph-process.js'

t.test('behind a real HAProxy (send-proxy-v2), the access line shows the client\'s address', async (t) => {
  const ca = await devCa()
  const { seraph, port } = await startSeraph(t, ['--workers', '2', '--proxy-protocol', '--trusted-proxy', '127.0.0.1/32'])
  // docs/Guides/several-hosts.md's example on loopback (helpers/haproxy.ts): TCP mode, send-proxy-v2, /healthz checks over TLS with a PROXY header.
  const haproxy = await startHaproxy(t, tempDir(t, 'seraph-haproxy-'), { servers: [{ name: 's1', port }] })
  const { httpsPort } = haproxy

  for (let i = 0; i < 5; i++) {
    const answer = await requestThrough(httpsPort, undefined, ca, `/healthz?via=haproxy&i=${i}`, '127.0.0.5')
    t.match(answer, /^HTTP\/1\.1 200 /, `request ${i} through HAProxy`)
    const line = await seraph.waitForLine((l: LogLine) => l.msg === 'request' && l.url === `/healthz?via=haproxy&i=${i}`, 'its access line')
    t.equal(line.remote, '127.0.0.5', 'seraph logs the client\'s address, not HAProxy\'s')
  }
  // HAProxy's own checks carry a PROXY header with its address: served, logged as 127.0.0.1.
  const check = await seraph.waitForLine((l: LogLine) => l.msg === 'request' && l.url === '/healthz' && l.status === 200, 'a health check')
  t.equal(check.remote, '127.0.0.1')
  await haproxy.allUp()
  t.same(seraph.lines.filter((l) => l.msg === 'proxy protocol: connection refused'), [], 'nothing refused')
})
