import { spawn } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { tempDir } from './helpers/certificates.js'
import { devCa } from './helpers/https-client.js'
import { freePort } from './helpers/pebble.js'
import { killGroup, onTestExit } from './helpers/process-group.js'
import { requestThrough } from './helpers/proxy-client.js'
import { startSeraph, type LogLine } from './helpers/seraph-process.js'

const haproxy = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((path) => existsSync(path)) ?? 'haproxy'

/** The README's example, on loopback ports: TCP mode, send-proxy-v2, /healthz checks over TLS with a PROXY header. */
function haproxyConfig (listenPort: number, seraphPort: number): string {
  return `global
  maxconn 100

defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s

frontend https
  bind 127.0.0.1:${listenPort}
  default_backend seraph

backend seraph
  option httpchk
  http-check send meth GET uri /healthz ver HTTP/1.1 hdr host localhost
  http-check expect status 200
  server s1 127.0.0.1:${seraphPort} send-proxy-v2 check check-ssl verify none check-send-proxy inter 500ms
`
}

async function accepting (port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true) })
      socket.on('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`haproxy is not listening on ${port}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

t.test('behind a real HAProxy (send-proxy-v2), the access line shows the client\'s address', async (t) => {
  const ca = await devCa()
  const { seraph, port } = await startSeraph(t, ['--workers', '2', '--proxy-protocol', '--trusted-proxy', '127.0.0.1/32'])
  const dir = tempDir(t, 'seraph-haproxy-')
  const listenPort = await freePort()
  const config = join(dir, 'haproxy.cfg')
  writeFileSync(config, haproxyConfig(listenPort, port))
  // Its own process group (detached), SIGKILLed on teardown and on any exit of this test.
  const child = spawn(haproxy, ['-db', '-f', config], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const forget = onTestExit(() => killGroup(child.pid))
  t.teardown(() => { killGroup(child.pid); forget() })
  await accepting(listenPort).catch((err: Error) => { throw new Error(`${err.message}: ${output}`) })

  for (let i = 0; i < 5; i++) {
    const answer = await requestThrough(listenPort, undefined, ca, `/healthz?via=haproxy&i=${i}`, '127.0.0.5')
    t.match(answer, /^HTTP\/1\.1 200 /, `request ${i} through HAProxy`)
    const line = await seraph.waitForLine((l: LogLine) => l.msg === 'request' && l.url === `/healthz?via=haproxy&i=${i}`, 'its access line')
    t.equal(line.remote, '127.0.0.5', 'seraph logs the client\'s address, not HAProxy\'s')
  }
  // HAProxy's own checks carry a PROXY header with its address: served, logged as 127.0.0.1.
  const check = await seraph.waitForLine((l: LogLine) => l.msg === 'request' && l.url === '/healthz' && l.status === 200, 'a health check')
  t.equal(check.remote, '127.0.0.1')
  t.notOk(seraph.lines.some((l) => l.msg === 'proxy protocol: connection refused'), 'nothing refused')
  t.equal(child.exitCode, null, `HAProxy still runs: ${output}`)
})
