import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import t, { type Test } from 'tap'
import { ariPollDefaultMs, certificateId, nextStep, parseRenewalInfo, serialOctets } from '../src/primary/acme/renewal-info.js'
import { renewalTime } from '../src/primary/acme/renewal-schedule.js'
import { StateStore } from '../src/primary/acme/state-store.js'
import { makeCertificate, tempDir } from './helpers/certificates.js'
import { startFakeCa, type FakeCaOptions } from './helpers/fake-ca.js'
import { inProcessAcme } from './helpers/in-process-acme.js'

// Debian's pebble 2.4 offers no renewalInfo (pebble has it from 2.6), so the
// window handling runs against the fake CA serving the recorded Let's Encrypt
// directory (test/fixtures/acme), in-process.
const name = 'a.blog.test'
const hour = 3_600_000

t.test('certificate ID: RFC 9773 §4.1 example and a real certificate', async (t) => {
  // The RFC's example: keyIdentifier 69:88:5B:6B:..., serial 0x87654321 (DER 00 87 65 43 21).
  t.equal(Buffer.from('69885B6B87464041E1B37B847BA0AE2CDE01C8D4', 'hex').toString('base64url'), 'aYhba4dGQEHhs3uEe6CuLN4ByNQ')
  t.equal(serialOctets('87654321').toString('base64url'), 'AIdlQyE', 'a sign octet when the top bit is set')
  t.equal(serialOctets('1234').toString('base64url'), Buffer.from('1234', 'hex').toString('base64url'))
  t.equal(serialOctets('abc').toString('hex'), '0abc', 'an odd length is padded')
  const made = await makeCertificate(tempDir(t), 'leaf', { hosts: [name] })
  // Independently of renewal-info.ts's DER walk: what openssl prints.
  const text = execFileSync('openssl', ['x509', '-in', made.cert, '-noout', '-ext', 'authorityKeyIdentifier', '-serial'], { encoding: 'utf8' })
  const aki = /([0-9A-F]{2}(?::[0-9A-F]{2})+)/.exec(text)?.[1]?.replaceAll(':', '') ?? ''
  const serial = /serial=([0-9A-F]+)/.exec(text)?.[1] ?? ''
  t.equal(certificateId(new X509Certificate(readFileSync(made.cert))), `${Buffer.from(aki, 'hex').toString('base64url')}.${Buffer.from(serial, 'hex').toString('base64url')}`)
})

t.test('parseRenewalInfo and nextStep', async (t) => {
  t.same(parseRenewalInfo({ suggestedWindow: { start: '2025-01-02T04:00:00Z', end: '2025-01-03T04:00:00Z' }, explanationURL: 'https://acme.example.com/docs/ari' }),
    { start: Date.parse('2025-01-02T04:00:00Z'), end: Date.parse('2025-01-03T04:00:00Z') }, 'the RFC\'s example answer')
  t.equal(parseRenewalInfo({ suggestedWindow: { start: '2025-01-03T04:00:00Z', end: '2025-01-02T04:00:00Z' } }), undefined, 'end before start')
  t.equal(parseRenewalInfo({ suggestedWindow: { start: 'soon' } }), undefined)
  t.equal(parseRenewalInfo('nope'), undefined)
  const now = Date.parse('2025-01-01T00:00:00Z')
  const window = { start: now + 2 * hour, end: now + 4 * hour }
  t.same(nextStep(now, now + 99 * hour, window, 6 * hour, () => 0.5), { action: 'renew', at: now + 3 * hour }, 'a random moment inside the window')
  t.same(nextStep(now, now + 99 * hour, window, 6 * hour, () => 0), { action: 'renew', at: window.start })
  t.same(nextStep(now, now + 99 * hour, window, 1 * hour, () => 0.5), { action: 'check', at: now + hour }, 'the next poll comes first')
  t.same(nextStep(now, now + 99 * hour, { start: now - 2 * hour, end: now - hour }, 6 * hour, () => 0.5), { action: 'renew', at: now }, 'a window past: now')
  t.same(nextStep(now, now + 99 * hour, undefined, 6 * hour), { action: 'renew', at: now + 99 * hour }, 'no window: the fallback')
})

t.test('the fallback schedule in fixed numbers: a third of the lifetime left, half below 10 days', async (t) => {
  const from = new Date('2026-01-01T00:00:00Z')
  const renewedAt = (hours: number): string => new Date(renewalTime(from, new Date(from.getTime() + hours * hour))).toISOString()
  t.equal(renewedAt(90 * 24), '2026-03-02T00:00:00.000Z', "Let's Encrypt's 90 days: 30 days before the end (day 60)")
  t.equal(renewedAt(47 * 24), '2026-02-01T08:00:00.000Z', '47 days: 15 days 16 hours before the end')
  t.equal(renewedAt(10 * 24), '2026-01-07T16:00:00.000Z', 'exactly 10 days: still a third (80 hours before the end)')
  t.equal(renewedAt(10 * 24 - 1), '2026-01-05T23:30:00.000Z', 'an hour shorter: half (119.5 hours before the end)')
  t.equal(renewedAt(160), '2026-01-04T08:00:00.000Z', "Let's Encrypt's shortlived profile, 160 hours: at 80 hours")
  t.equal(renewedAt(6 * 24), '2026-01-04T00:00:00.000Z', '6 days: after 3')
  t.equal(renewedAt(24 / 3600), '2026-01-01T00:00:12.000Z', "24 seconds (the renewal test's pebble): after 12")
})

/** A stored certificate for `name`, then prepare() and start() against a fake CA; resolves once the first plan is made. */
async function startWithStored (t: Test, options: FakeCaOptions, lifetime = { beforeMs: 10 * hour, afterMs: 80 * hour }) {
  const ca = await startFakeCa(t, options)
  const dir = tempDir(t)
  const made = await makeCertificate(dir, 'leaf', { hosts: [name], notBefore: new Date(Date.now() - lifetime.beforeMs), notAfter: new Date(Date.now() + lifetime.afterMs) })
  const leaf = new X509Certificate(readFileSync(made.cert))
  const acme = inProcessAcme(t, ca.directoryUrl, [name])
  const store = new StateStore(acme.stateDir, ca.directoryUrl)
  await store.open()
  await store.writeCertificate(name, { key: readFileSync(made.key, 'utf8'), chain: readFileSync(made.cert, 'utf8') })
  await acme.service.prepare()
  acme.service.start()
  return { ca, acme, leaf }
}

const nextOf = async (acme: ReturnType<typeof inProcessAcme>) => {
  const line = await acme.waitForLine((l) => l.msg === 'renewal planned' || l.msg === 'certificate renewal failed')
  const next = acme.service.health()[0]?.next
  return { action: next?.action, at: Date.parse(next?.at ?? ''), line }
}

t.test('a window in the future: renewal planned inside it, asked with the certificate ID', async (t) => {
  const start = Date.now() + 2 * hour
  const ids: string[] = []
  const { acme, leaf } = await startWithStored(t, {
    renewalInfo: (id) => {
      ids.push(id)
      return { status: 200, body: { suggestedWindow: { start: new Date(start).toISOString(), end: new Date(start + hour).toISOString() } } }
    }
  })
  const next = await nextOf(acme)
  t.same(ids, [certificateId(leaf)], 'one GET <renewalInfo>/<certID>')
  t.equal(next.action, 'renew')
  t.ok(next.at >= start && next.at <= start + hour, 'inside the window')
  t.not(next.at, Date.parse(leaf.validTo) - 45 * hour, 'not the fallback (half of its 90 hours left)')
  t.match(next.line, {
    level: 30,
    names: [name],
    serial: leaf.serialNumber.toLowerCase(),
    next: 'renew',
    at: new Date(next.at).toISOString(),
    window: { start: new Date(start).toISOString(), end: new Date(start + hour).toISOString() }
  }, 'logged at info: the plan and the window it came from')
})

t.test('a window days away and Retry-After: 120: the CA is asked again in two minutes', async (t) => {
  const start = Date.now() + 50 * hour
  const before = Date.now()
  const { acme } = await startWithStored(t, {
    renewalInfo: () => ({ status: 200, headers: { 'retry-after': '120' }, body: { suggestedWindow: { start: new Date(start).toISOString(), end: new Date(start + hour).toISOString() } } })
  })
  const next = await nextOf(acme)
  t.equal(next.action, 'check')
  t.ok(next.at >= before + 120_000 && next.at <= Date.now() + 121_000, 'at the CA\'s Retry-After')
})

t.test('a window already past: renewed at once', async (t) => {
  const { ca, acme } = await startWithStored(t, {
    renewalInfo: () => ({ status: 200, body: { suggestedWindow: { start: new Date(Date.now() - 2 * hour).toISOString(), end: new Date(Date.now() - hour).toISOString() } } })
  })
  await ca.waitForRequest(/^POST \/acme\/new-order$/)
  const failed = await acme.waitForLine((l) => l.msg === 'certificate renewal failed')
  t.match(failed, { serving: /^[0-9a-f]+$/ }, 'the stored certificate stays served')
})

t.test('no renewalInfo in the directory (like pebble 2.4): the fallback, no ARI request', async (t) => {
  // [stored lifetime, renewal before its end]: 90 hours is short-lived (half
  // left), 90 days is not (a third: 30 days).
  const cases = [
    ['90 hours', { beforeMs: 10 * hour, afterMs: 80 * hour }, 45 * hour],
    ['90 days', { beforeMs: 10 * hour, afterMs: 90 * 24 * hour - 10 * hour }, 30 * 24 * hour]
  ] as const
  for (const [label, lifetime, beforeEnd] of cases) {
    await t.test(label, async (t) => {
      const { ca, acme, leaf } = await startWithStored(t, { withoutRenewalInfo: true }, lifetime)
      await acme.waitForLine((l) => l.msg === 'stored certificate loaded')
      await ca.waitForRequest(/^GET \/directory$/)
      const { line } = await nextOf(acme)
      const next = acme.service.health()[0]?.next
      const at = new Date(Date.parse(leaf.validTo) - beforeEnd).toISOString()
      t.same(next, { action: 'renew', at })
      t.match(line, { level: 30, names: [name], next: 'renew', at }, 'the plan is logged')
      t.notOk('window' in line, 'without a window')
      t.notOk(ca.requests.some((r) => r.includes('renewalInfo')))
    })
  }
})

t.test('renewalInfo answers an error: the fallback, and the CA is asked again in 6 hours', async (t) => {
  const before = Date.now()
  const { acme } = await startWithStored(t, { renewalInfo: () => ({ status: 500, body: { detail: 'down' } }) })
  const next = await nextOf(acme)
  t.equal(next.action, 'check')
  t.ok(next.at >= before + ariPollDefaultMs && next.at <= Date.now() + ariPollDefaultMs)
  t.ok(acme.lines.some((l) => l.msg === 'renewal information unavailable, using half of the lifetime' && l.level === 40), 'its 90 hours are short-lived: half')
})
