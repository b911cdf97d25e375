import { readFileSync } from 'node:fs'
import t from 'tap'
import { defaultContentSecurityPolicy } from '../src/shared/settings.js'
import { makeCertificate, tempDir } from './helpers/certificates.js'
import { devCa, getFresh } from './helpers/https-client.js'
import { startSeraph } from './helpers/seraph-process.js'

const common = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'x-frame-options': 'DENY'
}

t.test('the development certificate: security headers and CSP, but no HSTS', async (t) => {
  const ca = await devCa()
  const { port } = await startSeraph(t, ['--workers', '1'])
  for (const path of ['/', '/css/style.css', '/missing']) {
    const res = await getFresh(ca, port, path)
    t.match(res.headers, common, `${path}: the usual headers`)
    t.equal(res.headers['strict-transport-security'], undefined, `${path}: no HSTS for a development certificate`)
    t.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/)
  }
  const csp = String((await getFresh(ca, port, '/')).headers['content-security-policy'])
  for (const directive of defaultContentSecurityPolicy.split(';')) t.ok(csp.includes(directive.trim()), directive.trim())
})

t.test('a real certificate: HSTS for a year by default; --hsts-max-age and --csp change it', async (t) => {
  const cert = await makeCertificate(tempDir(t), 'real')
  const ca = readFileSync(cert.ca)
  const base = ['--workers', '1', '--cert', cert.cert, '--key', cert.key]
  const year = await startSeraph(t, base)
  t.equal((await getFresh(ca, year.port, '/')).headers['strict-transport-security'], 'max-age=31536000')
  const custom = await startSeraph(t, [...base, '--hsts-max-age', '1d', '--csp', "default-src 'self' https://cdn.example"])
  const res = await getFresh(ca, custom.port, '/')
  t.equal(res.headers['strict-transport-security'], 'max-age=86400')
  t.equal(res.headers['content-security-policy'], "default-src 'self' https://cdn.example")
  const off = await startSeraph(t, [...base, '--hsts-max-age', '0', '--csp', 'off'])
  const plain = await getFresh(ca, off.port, '/')
  t.equal(plain.headers['strict-transport-security'], undefined)
  t.equal(plain.headers['content-security-policy'], undefined)
  t.match(plain.headers, common)
})
