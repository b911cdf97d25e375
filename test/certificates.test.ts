import { X509Certificate } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ensureDevCertificate, loadCertificatePair } from '../src/primary/certificates.js'
import { makeCertificate, tempDir } from './helpers/certificates.js'

t.test('the development certificate: ECDSA P-256 for localhost, 127.0.0.1 and ::1, signed by its own CA', async (t) => {
  const dir = join(tempDir(t), 'dev-cert')
  // Several processes may start at once on a fresh checkout: all must end up
  // with one valid pair.
  const results = await Promise.all([ensureDevCertificate(dir), ensureDevCertificate(dir), ensureDevCertificate(dir)])
  t.ok(results.some((r) => r.created))
  const pair = loadCertificatePair(results[0]!.certPath, results[0]!.keyPath)
  const cert = new X509Certificate(pair.cert)
  t.equal(cert.publicKey.asymmetricKeyType, 'ec')
  t.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1')
  t.match(cert.subjectAltName, /DNS:localhost/)
  t.match(cert.subjectAltName, /IP Address:127\.0\.0\.1/)
  t.match(cert.subjectAltName, /IP Address:0:0:0:0:0:0:0:1/)
  t.ok(cert.verify(new X509Certificate(readFileSync(results[0]!.caPath)).publicKey), 'signed by ca.pem')
  t.ok(pair.daysLeft > 300)

  const again = await ensureDevCertificate(dir)
  t.equal(again.created, false, 'reused on the next run')
  t.same(readFileSync(again.certPath), pair.cert)
})

t.test('an expired development certificate is replaced', async (t) => {
  const parent = tempDir(t)
  await makeCertificate(parent, 'dev-cert', { notBefore: new Date(Date.now() - 10 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) })
  const dev = await ensureDevCertificate(join(parent, 'dev-cert'))
  t.equal(dev.created, true)
  t.ok(loadCertificatePair(dev.certPath, dev.keyPath).daysLeft > 300)
})

t.test('a certificate followed by its chain is accepted; days left are reported', async (t) => {
  const parent = tempDir(t)
  const soon = await makeCertificate(parent, 'soon', { notAfter: new Date(Date.now() + 5 * 86_400_000) })
  const chain = join(parent, 'fullchain.pem')
  writeFileSync(chain, Buffer.concat([readFileSync(soon.cert), readFileSync(soon.ca)]))
  const pair = loadCertificatePair(chain, soon.key)
  t.ok(pair.daysLeft <= 5 && pair.daysLeft >= 4, `${pair.daysLeft} days left`)
  t.equal(pair.subject, 'CN=localhost')
})
