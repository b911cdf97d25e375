import { connect, createServer } from 'node:net'
import t from 'tap'
import { offeredProfiles } from '../src/primary/acme/acme-profile.js'
import { expectCliFailure } from './helpers/cli-failure.js'
import { tempDir } from './helpers/certificates.js'
import { startFakeCa } from './helpers/fake-ca.js'
import { inProcessAcme } from './helpers/in-process-acme.js'
import { startPebble, freePort } from './helpers/pebble.js'
import { startSeraph } from './helpers/seraph-process.js'

// ACME profiles (draft-ietf-acme-profiles): Let's Encrypt lists classic,
// tlsserver and shortlived in its directory's meta.profiles. Debian's pebble
// 2.4 knows none, so the orders run against the fake CA, which records each
// new-order's payload; pebble shows how a CA without profiles refuses one.
const name = 'a.blog.test'
const letsEncryptProfiles = {
  classic: 'https://letsencrypt.org/docs/profiles#classic',
  tlsserver: 'https://letsencrypt.org/docs/profiles#tlsserver',
  shortlived: 'https://letsencrypt.org/docs/profiles#shortlived'
}

t.test('--acme-profile shortlived is sent in the new order', async (t) => {
  const ca = await startFakeCa(t, { profiles: letsEncryptProfiles })
  const acme = inProcessAcme(t, ca.directoryUrl, [name], undefined, undefined, { profile: 'shortlived' })
  await acme.service.prepare()
  acme.service.start()
  t.same(await ca.firstOrder(), { identifiers: [{ type: 'dns', value: name }], profile: 'shortlived' })
  // The fake CA refuses every order: the failure is the usual one, retried.
  t.match(await acme.waitForLine((l) => l.msg === 'certificate order failed'), { names: [name], problem: 'no orders here' })
})

t.test('without --acme-profile the order has no profile field', async (t) => {
  const ca = await startFakeCa(t, { profiles: letsEncryptProfiles })
  const acme = inProcessAcme(t, ca.directoryUrl, [name])
  await acme.service.prepare()
  acme.service.start()
  t.same(await ca.firstOrder(), { identifiers: [{ type: 'dns', value: name }] })
})

t.test('a profile the CA does not list stops seraph before any worker, naming those it offers', async (t) => {
  const ca = await startFakeCa(t, { profiles: letsEncryptProfiles })
  const acme = inProcessAcme(t, ca.directoryUrl, [name], undefined, undefined, { profile: 'short-lived' })
  await t.rejects(acme.service.prepare(), {
    code: 'SERAPH_ERR_ACME_PROFILE_UNKNOWN',
    message: `--acme-profile "short-lived": the certificate authority at ${ca.directoryUrl} does not offer it; it offers classic, tlsserver, shortlived`
  })
  t.same(ca.requests, ['GET /directory'], 'the directory only: no account, no order')
  const state = tempDir(t)
  await expectCliFailure(t, ['--domain', name, '--acme-directory', ca.directoryUrl, '--state-dir', state], 'SERAPH_ERR_ACME_PROFILE_UNKNOWN',
    /^seraph: --acme-profile "tls-server": the certificate authority at http:\/\/127\.0\.0\.1:\d+\/directory does not offer it; it offers classic, tlsserver, shortlived \[/,
    { env: { SERAPH_ACME_PROFILE: 'tls-server' } })
})

t.test("Debian's pebble 2.4 lists no profiles: --acme-profile is refused at start", async (t) => {
  const pebble = await startPebble(t, { httpPort: await freePort(), tlsPort: await freePort() })
  await expectCliFailure(t, ['--domain', name, '--acme-directory', pebble.directoryUrl, '--acme-ca', pebble.caFile, '--state-dir', tempDir(t), '--acme-profile', 'shortlived'],
    'SERAPH_ERR_ACME_PROFILE_UNKNOWN', `the certificate authority at ${pebble.directoryUrl} does not offer it; it offers no profiles`)
})

t.test('a CA unreachable at start: seraph starts all the same, and the first order checks the profile', async (t) => {
  // A port nothing listens on: bound, then closed.
  const port = await freePort()
  const directoryUrl = `http://127.0.0.1:${port}/directory`
  const { seraph } = await startSeraph(t, ['--workers', '1', '--domain', name, '--acme-directory', directoryUrl, '--state-dir', tempDir(t), '--acme-profile', 'shortlived'])
  t.match(await seraph.waitForLine((l) => l.msg === 'ACME directory unreadable at start: --acme-profile is checked at the first order'),
    { level: 40, profile: 'shortlived', problem: /ECONNREFUSED/ })
  t.match(await seraph.waitForLine((l) => l.msg === 'certificate order failed'), { level: 50, names: [name], problem: /ECONNREFUSED/ }, 'the order fails as with any unreachable CA, and is retried')
  // The CA comes up, without the profile: the next order says so.
  const ca = await startFakeCa(t, { profiles: { classic: 'x' } })
  const forward = createServer((socket) => {
    const upstream = new URL(ca.directoryUrl)
    const to = connect(Number(upstream.port), '127.0.0.1')
    socket.pipe(to).pipe(socket)
    socket.on('error', () => to.destroy())
    to.on('error', () => socket.destroy())
  })
  t.teardown(() => forward.close())
  await new Promise<void>((resolve, reject) => { forward.once('error', reject); forward.listen(port, '127.0.0.1', resolve) })
  t.match(await seraph.waitForLine((l) => l.msg === 'certificate order failed' && String(l.problem).includes('profile'), 'the profile failure', 30_000),
    { names: [name], problem: /^--acme-profile "shortlived": the certificate authority at .+ does not offer it; it offers classic$/ })
  t.equal(seraph.child.exitCode, null, 'still serving')
})

t.test('offeredProfiles reads meta.profiles only', async (t) => {
  t.same(offeredProfiles({ meta: { profiles: letsEncryptProfiles } }), ['classic', 'tlsserver', 'shortlived'])
  t.same(offeredProfiles({ meta: {} }), [])
  t.same(offeredProfiles({ profiles: { classic: 'x' } }), [], 'not at the top level')
  t.same(offeredProfiles(null), [])
  t.same(offeredProfiles('classic'), [])
})
