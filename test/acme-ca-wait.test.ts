import t, { type Test } from 'tap'
import { caWait, caWaitMaxMs, parseRetryAfter } from '../src/primary/acme/ca-wait.js'
import { retryMaxMs } from '../src/primary/acme/renewal-schedule.js'
import { startFakeCa, type Answer } from './helpers/fake-ca.js'
import { inProcessAcme } from './helpers/in-process-acme.js'

// Debian's pebble (2.4) never sends Retry-After nor a rateLimited problem
// (neither string is in its binary; no PEBBLE_* variable turns them on), so a
// fake CA on loopback plays them. The service runs in-process: the test reads
// its planned next try instead of waiting hours for it.
const name = 'a.blog.test'
const rateLimited = 'urn:ietf:params:acme:error:rateLimited'

async function firstFailure (t: Test, options: Parameters<typeof startFakeCa>[1]) {
  const ca = await startFakeCa(t, options)
  const acme = inProcessAcme(t, ca.directoryUrl, [name])
  await acme.service.prepare()
  const started = Date.now()
  acme.service.start()
  const failed = await acme.waitForLine((l) => l.msg === 'certificate order failed')
  const next = acme.service.health()[0]?.next
  return { ca, failed, started, nextInMs: Date.parse(next?.at ?? '') - started, next }
}

t.test('parseRetryAfter: seconds or an HTTP date', async (t) => {
  const now = Date.parse('2025-06-01T00:00:00Z')
  t.equal(parseRetryAfter('120', now), 120_000)
  t.equal(parseRetryAfter('Sun, 01 Jun 2025 01:00:00 GMT', now), 3_600_000)
  t.equal(parseRetryAfter('Sat, 31 May 2025 23:00:00 GMT', now), 0, 'a date past is now')
  t.equal(parseRetryAfter('soon', now), undefined)
  t.equal(parseRetryAfter(undefined, now), undefined)
  t.same(caWait({ status: 429, headers: { 'retry-after': '999999999' }, data: { type: rateLimited } }, now), { ms: caWaitMaxMs, rateLimited: true }, 'capped')
  t.same(caWait({ status: 429, headers: {}, data: JSON.stringify({ type: rateLimited }) }, now), { ms: retryMaxMs, rateLimited: true }, 'rateLimited without Retry-After: the longest back-off step')
  t.equal(caWait({ status: 400, headers: {}, data: { type: 'urn:ietf:params:acme:error:malformed' } }, now), undefined)
})

t.test('rateLimited with Retry-After on new-order: the next try waits that long, logged', async (t) => {
  const order: Answer = { status: 429, headers: { 'retry-after': '7200' }, body: { type: rateLimited, detail: 'too many certificates already issued' } }
  const { ca, failed, nextInMs } = await firstFailure(t, { newOrder: () => order })
  t.match(failed, { level: 50, problem: /too many certificates/, retryInSeconds: 7200, caRetryAfterSeconds: 7200, rateLimited: true, failures: 1 })
  t.ok(nextInMs >= 7_199_000 && nextInMs <= 7_210_000, `next try in ${nextInMs} ms`)
  t.equal(ca.requests.filter((r) => r === 'POST /acme/new-order').length, 1, 'acme-client did not retry (nor sleep) on its own')
})

t.test('503 with a Retry-After date ten days ahead: capped at a day', async (t) => {
  const at = new Date(Date.now() + 10 * 86_400_000).toUTCString()
  const { failed, nextInMs } = await firstFailure(t, { newOrder: () => ({ status: 503, headers: { 'retry-after': at }, body: { type: 'urn:ietf:params:acme:error:serverInternal', detail: 'maintenance' } }) })
  t.match(failed, { retryInSeconds: 86_400, caRetryAfterSeconds: 86_400, rateLimited: false })
  t.ok(nextInMs >= caWaitMaxMs - 2000 && nextInMs <= caWaitMaxMs + 10_000, `next try in ${nextInMs} ms`)
})

t.test('the directory itself answers 503 + Retry-After: 90', async (t) => {
  const { failed } = await firstFailure(t, { directory: () => ({ status: 503, headers: { 'retry-after': '90' }, body: { detail: 'busy' } }) })
  t.match(failed, { retryInSeconds: 90, caRetryAfterSeconds: 90, rateLimited: false })
})

t.test('an error without Retry-After keeps the plain back-off', async (t) => {
  const { failed } = await firstFailure(t, {})
  t.match(failed, { retryInSeconds: 5, problem: /no orders here/ })
  t.notOk('caRetryAfterSeconds' in failed, 'nothing asked')
})

t.test('a shorter Retry-After does not shorten the back-off', async (t) => {
  const { failed } = await firstFailure(t, { newOrder: () => ({ status: 503, headers: { 'retry-after': '1' }, body: { detail: 'busy' } }) })
  t.match(failed, { retryInSeconds: 5, caRetryAfterSeconds: 1 })
})

t.test('credentials in the directory URL never reach the log', async (t) => {
  const { withoutCredentials } = await import('../src/shared/url-credentials.js')
  t.equal(withoutCredentials('https://user:secret@ca.example:14000/dir'), 'https://ca.example:14000/dir')
  t.equal(withoutCredentials('https://ca.example/dir'), 'https://ca.example/dir')
})
