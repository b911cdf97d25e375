import { readFileSync } from 'node:fs'
import { createServer as createNetServer } from 'node:net'
import { connect, type ConnectionOptions } from 'node:tls'
import t from 'tap'
import { makeCertificate, tempDir } from './helpers/certificates.js'
import { groupIds, offerGroupsOnly } from './helpers/group-hello.js'
import { runSeraph, startSeraph } from './helpers/seraph-process.js'
import { AcmeChallengeResponder } from '../src/worker/tls/acme-challenge-responder.js'
import { defaultTlsPolicy } from '../src/shared/tls-policy.js'
import { tlsGroups } from '../src/shared/tls-groups.js'
import { createServer as createTlsServer } from 'node:tls'

// The truth to assert, known without asking seraph's own probe: ML-KEM came
// with OpenSSL 3.5 (Node 24 links 3.5.x, Node 20 links 3.0.x).
const [major, minor] = process.versions.openssl.split('.').map(Number) as [number, number]
const opensslHasMlKem = major > 3 || (major === 3 && minor >= 5)
const classic = ['X25519', 'P-256', 'P-384']

/** What Node's client reports: `{ type: 'ECDH', name, size }`, or `{ type: 'TLSGroup', name }` for a hybrid group (Node 24). */
type KeyInfo = object | null

/** A full handshake with `options`; the group the client reports and the response's status line. */
function handshake (port: number, options: ConnectionOptions): Promise<{ group: KeyInfo, statusLine: string }> {
  return new Promise((resolve, reject) => {
    let answer = ''
    let group: KeyInfo = null
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ALPNProtocols: ['http/1.1'], ...options }, () => {
      group = socket.getEphemeralKeyInfo()
      socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
    })
    socket.setEncoding('latin1').on('data', (chunk: string) => { answer += chunk })
    socket.once('error', reject)
    socket.once('close', () => resolve({ group, statusLine: answer.split('\r\n')[0] ?? '' }))
  })
}

t.test('default groups: X25519MLKEM768 first where OpenSSL has it, and the ready line says which are on', async (t) => {
  const certificate = await makeCertificate(tempDir(t), 'cert')
  const ca = readFileSync(certificate.ca)
  const { port, ready } = await startSeraph(t, ['--workers', '1', '--cert', certificate.cert, '--key', certificate.key])
  t.same(ready.tlsGroups, opensslHasMlKem ? ['X25519MLKEM768', ...classic] : classic, 'the ready line')
  // A client that offers the hybrid group alone, without a key share: the
  // server asks for it (HelloRetryRequest), or refuses when it has no group in common.
  const hybridOnly = await offerGroupsOnly(port, [groupIds.X25519MLKEM768])
  if (opensslHasMlKem) {
    t.same(hybridOnly, { kind: 'retry', group: groupIds.X25519MLKEM768 }, 'a client offering only X25519MLKEM768 is asked for its key share')
    // Node 24's client offering only the hybrid group, with its key share: served over it.
    t.same(await handshake(port, { ca, ecdhCurve: 'X25519MLKEM768' }), { group: { type: 'TLSGroup', name: 'X25519MLKEM768' }, statusLine: 'HTTP/1.1 200 OK' })
    // Node 24's own default sends key shares for X25519MLKEM768 and X25519, as browsers do.
    t.same((await handshake(port, { ca })).group, { type: 'TLSGroup', name: 'X25519MLKEM768' }, 'a browser-like client gets the hybrid group')
  } else {
    t.same(hybridOnly, { kind: 'alert', description: 40 }, 'Node 20 (OpenSSL 3.0): a client offering only X25519MLKEM768 is refused, handshake_failure')
    t.same((await handshake(port, { ca })).group, { type: 'ECDH', name: 'X25519', size: 253 }, 'a default client gets X25519')
  }
  t.same(await offerGroupsOnly(port, [groupIds.P384]), { kind: 'retry', group: groupIds.P384 }, 'P-384 is on')
  t.same(await offerGroupsOnly(port, [0x0019]), { kind: 'alert', description: 40 }, 'P-521 is not')
  t.same(await handshake(port, { ca, ecdhCurve: 'X25519' }), { group: { type: 'ECDH', name: 'X25519', size: 253 }, statusLine: 'HTTP/1.1 200 OK' })
  t.same((await handshake(port, { ca, ecdhCurve: 'P-256', maxVersion: 'TLSv1.2' })).group, { type: 'ECDH', name: 'prime256v1', size: 256 }, 'TLS 1.2 with P-256')
})

t.test('SERAPH_TLS_GROUPS sets the groups of the default and of an SNI certificate alike', async (t) => {
  const dir = tempDir(t)
  const first = await makeCertificate(dir, 'first')
  const second = await makeCertificate(dir, 'second', { keyType: 'rsa', hosts: ['second.test'] })
  const { port, ready } = await startSeraph(t, ['--workers', '1', '--cert', first.cert, '--key', first.key, '--cert', second.cert, '--key', second.key],
    { env: { SERAPH_TLS_GROUPS: 'P-384,X25519' } })
  t.same(ready.tlsGroups, ['P-384', 'X25519'])
  for (const servername of ['localhost', 'second.test']) {
    const ca = readFileSync(servername === 'localhost' ? first.ca : second.ca)
    // The client's key share is X25519 (Node's default order): the server still prefers P-384 and asks for it.
    t.same(await offerGroupsOnly(port, [groupIds.X25519, groupIds.P384], servername), { kind: 'retry', group: groupIds.P384 }, `${servername}: P-384 preferred`)
    t.same(await offerGroupsOnly(port, [groupIds.P256], servername), { kind: 'alert', description: 40 }, `${servername}: P-256 is off`)
    t.same(await handshake(port, { ca, servername, ecdhCurve: 'P-256:P-384' }), { group: { type: 'ECDH', name: 'secp384r1', size: 384 }, statusLine: 'HTTP/1.1 200 OK' })
  }
})

t.test('the TLS-ALPN-01 challenge certificate gets the groups too', async (t) => {
  const challenge = await makeCertificate(tempDir(t), 'challenge', { hosts: ['a.blog.test'] })
  const responder = new AcmeChallengeResponder(() => ({ ...defaultTlsPolicy, groups: ['P-384'] }))
  responder.update([{ type: 'tls-alpn-01', name: 'a.blog.test', cert: readFileSync(challenge.cert, 'utf8'), key: readFileSync(challenge.key, 'utf8') }])
  // The HTTPS server behind it is never reached by these connections.
  const server = createTlsServer({})
  responder.attach(server)
  const tcp = createNetServer((socket) => server.emit('connection', socket))
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { tcp.close() })
  const { port } = tcp.address() as { port: number }
  const validator = (ecdhCurve: string): Promise<KeyInfo> => new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'a.blog.test', ALPNProtocols: ['acme-tls/1'], rejectUnauthorized: false, ecdhCurve }, () => {
      resolve(socket.getEphemeralKeyInfo())
      socket.end()
    })
    socket.once('error', reject)
  })
  t.same(await validator('X25519:P-384'), { type: 'ECDH', name: 'secp384r1', size: 384 }, 'P-384 even with an X25519 key share')
  // Node 20 calls it ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE, Node 24 ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE.
  await t.rejects(validator('X25519'), { code: /_ALERT_HANDSHAKE_FAILURE$/ }, 'X25519 alone is refused')
})

t.test('a group this OpenSSL does not have stops start-up in the primary, naming the ones it has', async (t) => {
  const result = await runSeraph(t, ['--host', '127.0.0.1', '--port', '0', '--tls-groups', 'X25519:X25519Kyber768Draft00'])
  t.equal(result.code, 1)
  t.match(result.stderr, new RegExp(`^seraph: --tls-groups "X25519Kyber768Draft00": not a key exchange group of this OpenSSL \\(${process.versions.openssl.replace(/\./g, '\\.')}\\), which offers (X25519MLKEM768, .+, )?X25519, X448, P-256, P-384, P-521, .+ \\[SERAPH_ERR_TLS_GROUP_UNKNOWN\\]\\n$`))
  t.equal(result.stderr.includes('X25519MLKEM768'), opensslHasMlKem, 'the hybrid group is named among them where OpenSSL has it')
  t.same(result.seraph.workerPids(), [], 'no worker forked')
  const env = { SERAPH_TLS_GROUPS: 'X25519MLKEM768' }
  if (opensslHasMlKem) {
    const { ready } = await startSeraph(t, ['--workers', '1'], { env })
    t.same(ready.tlsGroups, ['X25519MLKEM768'], 'X25519MLKEM768 alone is accepted where OpenSSL has it')
  } else {
    const fromEnv = await runSeraph(t, ['--host', '127.0.0.1', '--port', '0'], { env })
    t.equal(fromEnv.code, 1)
    t.match(fromEnv.stderr, /^seraph: SERAPH_TLS_GROUPS \(--tls-groups\) "X25519MLKEM768": not a key exchange group of this OpenSSL \(3\.0\.\d+\), which offers X25519, .+ \[SERAPH_ERR_TLS_GROUP_UNKNOWN\]\n$/)
  }
})

t.test('group lists as the primary checks them', async (t) => {
  t.same(tlsGroups('--tls-groups', undefined), opensslHasMlKem ? ['X25519MLKEM768', ...classic] : classic)
  t.same(tlsGroups('--tls-groups', 'P-256, x25519:P-256'), ['P-256', 'x25519'], 'commas and spaces too; OpenSSL\'s aliases; duplicates once')
  // OpenSSL's own syntax would let a typo through (3.3+: `?` skips an unknown name) or change the meaning (3.5: `*`, `/`, `-`).
  for (const name of ['?X25519', '*X25519', 'X25519/P-256', '-P-256', 'auto', 'DEFAULT', 'nope']) {
    t.throws(() => tlsGroups('--tls-groups', name), { code: 'SERAPH_ERR_TLS_GROUP_UNKNOWN' }, name)
  }
  t.throws(() => tlsGroups('--tls-groups', ' : '), { code: 'SERAPH_ERR_MISSING_VALUE' })
})
