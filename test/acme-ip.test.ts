import { readFileSync } from 'node:fs'
import { connect } from 'node:tls'
import t from 'tap'
import { Agent, request } from 'undici'
import { parseCommandLine, type Config } from '../src/config/config.js'
import { validationServerName } from '../src/primary/acme/ip-identifier.js'
import { checkStoredCertificate } from '../src/primary/acme/stored-certificate.js'
import { startPebbleReaching } from './helpers/gated-forwarder.js'
import { acmeArgs } from './helpers/pebble.js'
import { startSeraph } from './helpers/seraph-process.js'
import { makeCertificate, tempDir } from './helpers/certificates.js'

// IP address certificates (RFC 8738), which Let's Encrypt issues with its
// shortlived profile. Debian's pebble 2.4 knows `ip` identifiers and
// validates them by HTTP-01 and by TLS-ALPN-01 with the reverse-DNS name as
// server name (RFC 8738 §6).

interface Shown { readonly names: string, readonly authorized: boolean, readonly error: string | undefined, readonly status: number }

/**
 * A client that connects to the address itself, as a browser given
 * https://127.0.0.1/ does: no server name (RFC 6066 §3 allows none for an
 * address). Node then checks the certificate against the address.
 */
function byAddress (host: string, port: number, ca: string): Promise<Shown> {
  return new Promise((resolve, reject) => {
    let answer = ''
    let shown: Omit<Shown, 'status'> | undefined
    const socket = connect({ host, port, ca, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
      shown = { names: socket.getPeerCertificate().subjectaltname ?? '', authorized: socket.authorized, error: socket.authorizationError === null ? undefined : String(socket.authorizationError) }
      socket.write(`GET /healthz HTTP/1.1\r\nHost: ${host.includes(':') ? `[${host}]` : host}\r\nConnection: close\r\n\r\n`)
    })
    socket.setEncoding('utf8').on('data', (chunk: string) => { answer += chunk })
    socket.once('error', reject)
    socket.once('close', () => shown === undefined ? reject(new Error('no handshake')) : resolve({ ...shown, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0) }))
  })
}

t.test('HTTP-01: --domain 127.0.0.1 gets an IP address certificate from pebble, served to clients that send no server name', async (t) => {
  const pebble = await startPebbleReaching(t)
  const { seraph, port, ready } = await startSeraph(t, [...acmeArgs(pebble, tempDir(t), ['127.0.0.1']), '--port', '0', '--redirect-port', '0'])
  pebble.reach({ port, redirectPort: ready.redirectPort as number })
  const obtained = await seraph.waitForLine((l) => l.msg === 'certificate obtained', 'certificate obtained', 60_000)
  t.same(obtained.names, ['127.0.0.1'])
  await seraph.waitForLine((l) => l.msg === 'certificates applied' && (l.serials as string[]).includes(obtained.serial as string), 'workers applied')
  const root = await pebble.root()
  const shown = await byAddress('127.0.0.1', port, root)
  t.same(shown, { names: 'IP Address:127.0.0.1', authorized: true, error: undefined, status: 200 }, 'the address alone, in an iPAddress entry; it verifies against the address')
  const agent = new Agent({ connect: { ca: root } })
  t.teardown(() => agent.close())
  const res = await request(`https://127.0.0.1:${port}/`, { dispatcher: agent })
  await res.body.dump()
  t.equal(res.statusCode, 200, 'an HTTPS client verifying https://127.0.0.1/ is served')
})

t.test('TLS-ALPN-01: --domain ::1, validated with the reverse-DNS name as server name, served without one', async (t) => {
  const pebble = await startPebbleReaching(t, {}, '::1')
  const { seraph, port } = await startSeraph(t, [...acmeArgs(pebble, tempDir(t), ['::1']), '--host', '::1', '--port', '0', '--workers', '1'])
  pebble.reach({ port })
  const obtained = await seraph.waitForLine((l) => l.msg === 'certificate obtained', 'certificate obtained', 60_000)
  t.same(obtained.names, ['::1'])
  await seraph.waitForLine((l) => l.msg === 'certificates applied' && (l.serials as string[]).includes(obtained.serial as string), 'workers applied')
  const shown = await byAddress('::1', port, await pebble.root())
  t.match(shown, { names: /^IP Address:(0:0:0:0:0:0:0:1|::1)$/, authorized: true, error: undefined, status: 200 })
})

t.test('a name and an address on one port: SNI gets the name\'s certificate, no server name the address\'s', async (t) => {
  const pebble = await startPebbleReaching(t)
  const { seraph, port } = await startSeraph(t, [...acmeArgs(pebble, tempDir(t), ['a.blog.test', '127.0.0.1']), '--port', '0'])
  pebble.reach({ port })
  for (const name of ['a.blog.test', '127.0.0.1']) {
    await seraph.waitForLine((l) => l.msg === 'certificate obtained' && (l.names as string[]).includes(name), `certificate obtained for ${name}`, 60_000)
  }
  const obtained = seraph.lines.filter((l) => l.msg === 'certificate obtained').map((l) => l.serial as string)
  await seraph.waitForLine((l) => l.msg === 'certificates applied' && obtained.every((s) => (l.serials as string[]).includes(s)), 'workers applied both')
  const root = await pebble.root()
  t.match(await byAddress('127.0.0.1', port, root), { names: 'IP Address:127.0.0.1', authorized: true, status: 200 }, 'no server name: the address\'s, though the name came first')
  const named = await new Promise<string>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'a.blog.test', ca: root }, () => {
      resolve(socket.getPeerCertificate().subjectaltname ?? '')
      socket.end()
    })
    socket.once('error', reject)
  })
  t.equal(named, 'DNS:a.blog.test')
})

t.test('--domain takes IPv4 and IPv6 addresses, one spelling each', async (t) => {
  const domains = (value: string): readonly string[] => (parseCommandLine(['--domain', value], {}, tempDir(t)) as { config: Config }).config.acme?.domains ?? []
  t.same(domains('203.0.113.7'), ['203.0.113.7'])
  t.same(domains('2001:DB8:0:0:0:0:0:1'), ['2001:db8::1'], 'IPv6 compressed, lower-case')
  t.same(domains(' ::1 '), ['::1'])
  t.same((parseCommandLine(['--domain', '2001:db8::1', '--domain', '2001:DB8::0:1'], {}) as { config: Config }).config.acme?.domains, ['2001:db8::1'], 'the same address once')
  for (const bad of ['203.0.113.999', 'fe80::1%eth0', '01.2.3.4', '[::1]']) {
    t.throws(() => domains(bad), { code: 'SERAPH_ERR_DOMAIN_INVALID' }, bad)
  }
})

t.test('the reverse-DNS server names of RFC 8738 §6', async (t) => {
  t.equal(validationServerName('192.0.2.7'), '7.2.0.192.in-addr.arpa')
  t.equal(validationServerName('::1'), `1.${'0.'.repeat(31)}ip6.arpa`)
  t.equal(validationServerName('4321:0:1:2:3:4:567:89ab'), 'b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa', "RFC 3596 §2.5's example")
  t.equal(validationServerName('2001:db8::1'), `1.${'0.'.repeat(23)}8.b.d.0.1.0.0.2.ip6.arpa`)
  t.equal(validationServerName('::ffff:192.0.2.7'), `7.0.2.0.0.0.0.c.f.f.f.f.${'0.'.repeat(20)}ip6.arpa`, 'an IPv4-mapped address')
  t.equal(validationServerName('a.blog.test'), 'a.blog.test', 'a name is its own')
})

t.test('a stored IP certificate is used only for exactly its address', async (t) => {
  const dir = tempDir(t)
  const made = await makeCertificate(dir, 'v6', { hosts: ['::1'] })
  const stored = { chain: readFileSync(made.cert, 'utf8'), key: readFileSync(made.key, 'utf8') }
  t.equal(checkStoredCertificate('::1', stored).usable, true, 'the same address')
  t.match(checkStoredCertificate('::2', stored), { usable: false, reason: /^it is for IP Address:0:0:0:0:0:0:0:1, not IP Address:::2$/ })
  t.match(checkStoredCertificate('localhost', stored), { usable: false, reason: /not DNS:localhost$/ })
  const v4 = await makeCertificate(dir, 'v4', { hosts: ['127.0.0.1'] })
  t.equal(checkStoredCertificate('127.0.0.1', { chain: readFileSync(v4.cert, 'utf8'), key: readFileSync(v4.key, 'utf8') }).usable, true)
})
