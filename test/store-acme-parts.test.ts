import { randomBytes, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { FleetChallenges, fleetAckWaitMs, fleetPollMs } from '../src/primary/acme/fleet-challenges.js'
import { StateStore } from '../src/primary/acme/state-store.js'
import { RedisStore } from '../src/primary/store/redis-store.js'
import type { AcmeChallenge } from '../src/shared/messages.js'
import { makeCertificate, tempDir } from './helpers/certificates.js'
import { inProcessAcme } from './helpers/in-process-acme.js'
import { startRedis } from './helpers/redis-server.js'

// The fleet's ACME parts in-process, against a real redis-server: what the
// multi-process tests (store-acme.test.ts) cannot force, such as a host that
// answers slowly or one that missed an announcement.
const name = 'a.blog.test'
const silent = pino({ level: 'silent' })

interface Teardown { teardown (fn: () => unknown): void }

async function connected (t: Teardown, url: string, key: Buffer): Promise<RedisStore> {
  const store = new RedisStore({ url, keyFile: 'store.key', key }, silent)
  await store.connect()
  t.teardown(() => store.close())
  return store
}

async function until (condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

t.test('challenges: the ordering host goes on only once every live host answers its set', async (t) => {
  const redis = await startRedis(t)
  const key = randomBytes(32)
  const [a, b] = [await connected(t, redis.url(), key), await connected(t, redis.url(), key)]
  const events: string[] = []
  const ordering = new FleetChallenges(a, 'acme:test', [name], silent, async () => {})
  // The other host's workers take a while to confirm.
  const answering = new FleetChallenges(b, 'acme:test', [name], silent, async (_name, challenges) => {
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    events.push(`b answers ${challenges.map((c) => c.type === 'http-01' ? c.token : c.name).join(',') || 'nothing'}`)
  })
  for (const fleet of [ordering, answering]) {
    fleet.start()
    t.teardown(() => fleet.stop())
  }
  await until(() => ordering.liveHosts.includes(b.hostId), 'the ordering host hears of the other one')

  const challenge: AcmeChallenge = { type: 'http-01', token: 'token-1', keyAuthorization: 'token-1.thumbprint' }
  const started = Date.now()
  await ordering.publish(name, [challenge])
  events.push('the CA may validate')
  t.same(events, ['b answers token-1', 'the CA may validate'], 'the CA is asked only after the other host answers')
  t.ok(Date.now() - started < fleetAckWaitMs, `confirmed in ${Date.now() - started} ms, not by the timeout`)

  await ordering.publish(name, [])
  await until(() => events.includes('b answers nothing'), 'the set is withdrawn everywhere')
})

t.test('a host that starts during another host\'s order answers its challenge at once, not at the next poll', async (t) => {
  const redis = await startRedis(t)
  const key = randomBytes(32)
  const [a, b] = [await connected(t, redis.url(), key), await connected(t, redis.url(), key)]
  const ordering = new FleetChallenges(a, 'acme:test', [name], silent, async () => {})
  ordering.start()
  t.teardown(() => ordering.stop())
  // Nobody else is live yet: the set is stored and announced to no one.
  await ordering.publish(name, [{ type: 'http-01', token: 'token-early', keyAuthorization: 'token-early.thumbprint' }])
  const applied: string[] = []
  const late = new FleetChallenges(b, 'acme:test', [name], silent, async (_name, challenges) => {
    applied.push(challenges.map((c) => c.type === 'http-01' ? c.token : c.name).join(','))
  })
  const started = Date.now()
  late.start()
  t.teardown(() => late.stop())
  await until(() => applied.includes('token-early'), 'the late host answers the pending challenge', fleetPollMs - 1_000)
  t.ok(Date.now() - started < fleetPollMs / 2, `answered ${Date.now() - started} ms after its start`)
})

t.test('a certificate put in the store without an announcement is adopted at the next poll; an announced one at once', async (t) => {
  const redis = await startRedis(t)
  const key = randomBytes(32)
  const store = await connected(t, redis.url(), key)
  const other = await connected(t, redis.url(), key)
  const dir = tempDir(t)
  const directoryUrl = 'https://ca.invalid/dir'
  const stateDir = join(dir, 'state')
  const day = 86_400_000
  const pem = async (label: string, days: number): Promise<{ key: string, chain: string, serial: string }> => {
    const made = await makeCertificate(dir, label, { hosts: [name], notBefore: new Date(Date.now() - day), notAfter: new Date(Date.now() + days * day) })
    const chain = readFileSync(made.cert, 'utf8')
    return { key: readFileSync(made.key, 'utf8'), chain, serial: new X509Certificate(chain).serialNumber.toLowerCase() }
  }
  const onDisk = await pem('disk', 30)
  const local = new StateStore(stateDir, directoryUrl)
  await local.open()
  await local.writeCertificate(name, onDisk)

  const acme = inProcessAcme(t, directoryUrl, [name], stateDir, store)
  await acme.service.prepare()
  acme.service.start()
  t.match(await acme.waitForLine((l) => l.msg === 'stored certificate loaded'), { serial: onDisk.serial, from: 'disk' })
  // The store had none: this host's goes in, for the hosts that start later.
  await acme.waitForLine((l) => l.msg === 'certificate shared with the fleet' && l.serial === onDisk.serial)

  const storeKey = `acme:ca.invalid-dir:certificate:${name}`
  const quiet = await pem('quiet', 60)
  const putAt = Date.now()
  await other.set(storeKey, JSON.stringify({ key: quiet.key, chain: quiet.chain }))
  await acme.waitForLine((l) => l.msg === 'certificate adopted from the fleet' && l.serial === quiet.serial)
  t.ok(Date.now() - putAt <= fleetPollMs + 2_000, `found by polling after ${Date.now() - putAt} ms`)

  const announced = await pem('announced', 90)
  const announcedAt = Date.now()
  await other.set(storeKey, JSON.stringify({ key: announced.key, chain: announced.chain }))
  await other.publish('acme:certificates', JSON.stringify({ host: other.hostId, name }))
  await acme.waitForLine((l) => l.msg === 'certificate adopted from the fleet' && l.serial === announced.serial)
  t.ok(Date.now() - announcedAt < 2_000, `announced: adopted after ${Date.now() - announcedAt} ms`)
  t.equal(acme.service.health()[0]?.serial, announced.serial, 'served')
  t.equal((await local.readCertificate(name))?.chain, announced.chain, 'and kept in --state-dir')

  // An older certificate in the store is not adopted: this host's newer one replaces it there.
  await other.set(storeKey, JSON.stringify({ key: onDisk.key, chain: onDisk.chain }))
  await other.publish('acme:certificates', JSON.stringify({ host: other.hostId, name }))
  await acme.waitForLine((l) => l.msg === 'certificate shared with the fleet' && l.serial === announced.serial)
  t.equal(acme.service.health()[0]?.serial, announced.serial, 'still served')
})
