import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { connect, type SecureVersion } from 'node:tls'
import t, { type Test } from 'tap'
import { makeCertificate, tempDir } from './helpers/certificates.js'
import { runSeraph, startSeraph } from './helpers/seraph-process.js'
import { tlsPolicy } from '../src/shared/tls-policy.js'

interface Scan {
  readonly protocols: ReadonlyArray<{ version: string, enabled: boolean }>
  readonly ciphers: ReadonlyArray<{ sslversion: string, cipher: string, curve?: string }>
  readonly groups: readonly string[]
}

/** Runs Debian's sslscan (its own process group, killed on teardown) and reads its XML report. */
async function sslscan (t: Test, port: number, sniName = 'localhost'): Promise<Scan> {
  const child = spawn('sslscan', ['--no-colour', '--no-heartbleed', `--sni-name=${sniName}`, '--xml=-', `127.0.0.1:${port}`], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { if (child.exitCode === null) try { process.kill(-(child.pid as number), 'SIGKILL') } catch {} })
  let xml = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { xml += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  })
  if (code !== 0 || !xml.includes('</document>')) throw new Error(`sslscan failed (${String(code)}): ${stderr}`)
  return {
    protocols: elements(xml, 'protocol').map((a) => ({ version: `${a.type ?? ''}${a.version ?? ''}`, enabled: a.enabled === '1' })),
    ciphers: elements(xml, 'cipher').map((a) => ({ sslversion: a.sslversion ?? '', cipher: a.cipher ?? '', ...(a.curve === undefined ? {} : { curve: a.curve }) })),
    groups: elements(xml, 'group').map((a) => a.name ?? '')
  }
}

// sslscan's report is flat, self-closing elements with plain attributes: no XML library needed.
function elements (xml: string, name: string): Array<Record<string, string>> {
  return [...xml.matchAll(new RegExp(`<${name} ([^>]*?)/>`, 'g'))].map((match) =>
    Object.fromEntries([...(match[1] as string).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] as string, m[2] as string])))
}

// OpenSSL names a CBC suite without its mode (ECDHE-ECDSA-AES128-SHA256): only an AEAD name proves it is none.
const aead = /-GCM-|-CHACHA20-POLY1305$/
const weak = /CBC|CCM|ARIA|CAMELLIA/

function checkPolicy (t: Test, scan: Scan, auth: 'ECDSA' | 'RSA'): void {
  t.same(scan.protocols.filter((p) => p.enabled).map((p) => p.version), ['tls1.2', 'tls1.3'], 'TLS 1.2 and 1.3 only: nothing older')
  const tls12 = scan.ciphers.filter((c) => c.sslversion === 'TLSv1.2')
  const tls13 = scan.ciphers.filter((c) => c.sslversion === 'TLSv1.3')
  t.ok(tls13.length > 0, 'TLS 1.3 suites')
  t.ok(tls12.some((c) => c.cipher.startsWith(`ECDHE-${auth}-`)), `TLS 1.2 suites for the ${auth} key`)
  for (const { cipher, curve } of tls12) {
    t.match(cipher, aead, `${cipher}: AEAD (AES-GCM or ChaCha20-Poly1305)`)
    t.notMatch(cipher, weak, `${cipher}: no CBC, CCM or ARIA`)
    t.match(cipher, /^ECDHE-/, `${cipher}: ECDHE key exchange`)
    t.ok(curve !== undefined, `${cipher}: an elliptic-curve group was used`)
  }
  for (const { cipher, curve } of tls13) t.ok(curve !== undefined, `${cipher}: (EC)DHE over a curve, no finite-field group`)
  t.same(new Set(scan.groups), new Set(['secp256r1 (NIST P-256)', 'secp384r1 (NIST P-384)', 'x25519']), 'curves X25519, P-256, P-384')
}

t.test('sslscan: AEAD-only TLS 1.2 with ECDHE, no protocol below 1.2, for ECDSA and RSA certificates', async (t) => {
  const dir = tempDir(t)
  for (const [keyType, auth] of [['ecdsa', 'ECDSA'], ['rsa', 'RSA']] as const) {
    await t.test(`${keyType} certificate`, async (t) => {
      const certificate = await makeCertificate(dir, keyType, { keyType })
      const { port } = await startSeraph(t, ['--workers', '1', '--cert', certificate.cert, '--key', certificate.key])
      checkPolicy(t, await sslscan(t, port), auth)
    })
  }
})

t.test('sslscan: an SNI certificate gets the same policy as the default one', async (t) => {
  const dir = tempDir(t)
  const first = await makeCertificate(dir, 'first')
  const second = await makeCertificate(dir, 'second', { keyType: 'rsa', hosts: ['second.test'] })
  const { port } = await startSeraph(t, ['--workers', '1', '--cert', first.cert, '--key', first.key, '--cert', second.cert, '--key', second.key])
  const scan = await sslscan(t, port, 'second.test')
  // The default certificate is ECDSA, so RSA suites can only come from the SNI
  // one. Node 20 still accepts ECDSA suites for that name too (the default
  // certificate stays on the connection beside the SNI one); Node 24 does not.
  checkPolicy(t, scan, 'RSA')
})

interface Handshake { readonly protocol: string | null, readonly cipher: string }

function handshake (port: number, ca: Buffer, version: SecureVersion): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca, minVersion: version, maxVersion: version }, () => {
      const result = { protocol: socket.getProtocol(), cipher: socket.getCipher().name }
      socket.end()
      resolve(result)
    })
    socket.once('error', reject)
  })
}

t.test('--tls-min-version 1.3 refuses a TLS 1.2 client', async (t) => {
  const certificate = await makeCertificate(tempDir(t), 'cert')
  const ca = readFileSync(certificate.ca)
  const { port } = await startSeraph(t, ['--workers', '1', '--cert', certificate.cert, '--key', certificate.key, '--tls-min-version', '1.3'])
  t.equal((await handshake(port, ca, 'TLSv1.3')).protocol, 'TLSv1.3')
  await t.rejects(handshake(port, ca, 'TLSv1.2'), { code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' }, 'a protocol_version alert')
})

t.test('SERAPH_TLS_CIPHERS replaces the TLS 1.2 list and keeps the TLS 1.3 suites', async (t) => {
  const certificate = await makeCertificate(tempDir(t), 'cert')
  const ca = readFileSync(certificate.ca)
  const { port } = await startSeraph(t, ['--workers', '1', '--cert', certificate.cert, '--key', certificate.key],
    { env: { SERAPH_TLS_CIPHERS: 'ECDHE-ECDSA-AES256-GCM-SHA384' } })
  t.same(await handshake(port, ca, 'TLSv1.2'), { protocol: 'TLSv1.2', cipher: 'ECDHE-ECDSA-AES256-GCM-SHA384' })
  t.equal((await handshake(port, ca, 'TLSv1.3')).protocol, 'TLSv1.3')
})

t.test('a bad --tls-ciphers stops start-up in the primary, before any worker', async (t) => {
  const result = await runSeraph(t, ['--host', '127.0.0.1', '--port', '0', '--tls-ciphers', 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GMC-SHA256'])
  t.equal(result.code, 1)
  t.match(result.stderr, /^seraph: --tls-ciphers "ECDHE-RSA-AES128-GMC-SHA256": .+ \[SERAPH_ERR_TLS_CIPHERS_INVALID\]\n$/)
  t.same(result.seraph.workerPids(), [], 'no worker forked')
})

t.test('cipher lists as the primary checks them', async (t) => {
  const reject = (list: string, name: string): void => {
    t.throws(() => tlsPolicy('--tls-ciphers', list, 'TLSv1.2'), { code: 'SERAPH_ERR_TLS_CIPHERS_INVALID', message: new RegExp(`"${name}"`) }, list)
  }
  reject('NOPE', 'NOPE')
  reject('ECDHE-RSA-AES128-GCM-SHA256:typo', 'typo')
  reject('TLS_AES_128_GCM_SHA256:TLS_NOPE', 'TLS_NOPE')
  reject('!aNULL', '!aNULL')
  t.throws(() => tlsPolicy('--tls-ciphers', ' : ', 'TLSv1.2'), { code: 'SERAPH_ERR_MISSING_VALUE' })
  t.match(tlsPolicy('--tls-ciphers', 'ECDHE-RSA-AES128-GCM-SHA256, ECDHE-ECDSA-AES128-GCM-SHA256', 'TLSv1.2').ciphers,
    /^TLS_AES_256_GCM_SHA384:.*:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256$/, 'commas accepted; TLS 1.3 suites kept')
  t.equal(tlsPolicy('--tls-ciphers', 'TLS_AES_128_GCM_SHA256:ECDHE+AESGCM:!AES256', 'TLSv1.3').ciphers, 'TLS_AES_128_GCM_SHA256:ECDHE+AESGCM:!AES256', 'given TLS 1.3 suites win')
})
