import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import pino from 'pino'
import t, { type Test } from 'tap'
import { RedisStore } from '../src/primary/store/redis-store.js'
import { sessionLookupMs } from '../src/primary/store/fleet-sessions.js'
import { startRedis, type RedisServer } from './helpers/redis-server.js'

// The shared store against a real redis-server: what it keeps is sealed,
// leases exclude each other and expire, pub/sub reaches every host, and a
// store that dies or hangs never holds a caller longer than its bound.

interface LogRecord { level: number, msg: string, problem?: string }

function store (t: Test, server: RedisServer, key = randomBytes(32), db = 0): { store: RedisStore, logs: LogRecord[] } {
  const logs: LogRecord[] = []
  const log = pino({ level: 'debug' }, { write: (line: string) => { logs.push(JSON.parse(line) as LogRecord) } })
  const created = new RedisStore({ url: server.url(db), keyFile: '/dev/null', key }, log)
  t.teardown(() => created.close())
  return { store: created, logs }
}

function raw (t: Test, server: RedisServer, db = 0): Redis {
  const client = new Redis(server.url(db))
  t.teardown(() => { client.disconnect() })
  return client
}

function stateChange (target: RedisStore, up: boolean): Promise<void> {
  return new Promise((resolve) => target.onStateChange((now) => { if (now === up) resolve() }))
}

t.test('values are sealed: Redis holds no plaintext, and a value moved to another key or read with another key does not open', async (t) => {
  const server = await startRedis(t)
  const key = randomBytes(32)
  const { store: a } = store(t, server, key)
  await a.connect()
  t.equal(a.up, true)
  const secret = '-----BEGIN PRIVATE KEY-----\nvery secret\n-----END PRIVATE KEY-----\n'
  await a.set('certificate:example.org', secret)
  t.equal((await a.get('certificate:example.org'))?.toString(), secret, 'round trip')
  t.equal(await a.get('certificate:nothing-here'), undefined, 'absent is undefined')
  const redis = raw(t, server)
  const stored = await redis.getBuffer('seraph:certificate:example.org')
  t.ok(stored !== null && stored.length > secret.length, 'stored under the seraph: prefix')
  t.notOk(stored?.includes('very secret'), 'no plaintext in Redis')
  await redis.set('seraph:certificate:other.org', stored as Buffer)
  await t.rejects(a.get('certificate:other.org'), /does not open/, 'a value copied under another name does not open')
  const { store: b } = store(t, server, randomBytes(32))
  await b.connect()
  await t.rejects(b.get('certificate:example.org'), /does not open with --store-key-file/, 'another host with another key cannot read it')
  await a.set('session:abc', 'short-lived', 200)
  const ttl = await redis.pttl('seraph:session:abc')
  t.ok(ttl > 0 && ttl <= 200, `a TTL is set (${ttl} ms)`)
})

t.test('a lease excludes every other holder until it is released or expires; only its holder extends or releases it', async (t) => {
  const server = await startRedis(t)
  const key = randomBytes(32)
  const { store: a } = store(t, server, key)
  const { store: b } = store(t, server, key)
  await Promise.all([a.connect(), b.connect()])
  const lease = await a.lock('order:example.org', 60_000)
  t.ok(lease, 'the first host gets it')
  t.equal(await b.lock('order:example.org', 60_000), undefined, 'the second does not')
  t.equal(await a.lock('order:example.org', 60_000), undefined, 'not even the same host twice')
  t.ok(await b.lock('order:other.org', 60_000), 'another name is another lease')
  await lease?.release()
  const second = await b.lock('order:example.org', 300)
  const secondAt = Date.now()
  t.ok(second, 'released: the other host takes it')
  t.equal(await lease?.extend(60_000), false, 'the old holder cannot extend what it gave up')
  await lease?.release()
  t.equal(await a.lock('order:example.org', 60_000), undefined, 'nor release it from under the new holder')
  t.equal(await second?.extend(300), true, 'the holder extends it')
  // A holder that crashed: nothing releases it, it expires.
  const redis = raw(t, server)
  t.ok(await redis.pttl('seraph:lock:order:example.org') <= 300, 'the lease expires in its TTL')
  let taken
  while ((taken = await a.lock('order:example.org', 60_000)) === undefined) await new Promise((resolve) => setTimeout(resolve, 25))
  t.ok(taken, 'an expired lease is taken by the next host')
  t.ok(Date.now() - secondAt >= 250, 'not before its TTL ran out')
})

t.test('publish reaches every subscribed host, also after Redis restarted; state changes are logged once each and shown as seraph_store_up', async (t) => {
  const server = await startRedis(t)
  const key = randomBytes(32)
  const { store: a, logs } = store(t, server, key)
  const { store: b } = store(t, server, key)
  await Promise.all([a.connect(), b.connect()])
  const received: string[] = []
  let arrived: () => void = () => {}
  b.subscribe('certificates', (message) => { received.push(message); arrived() })
  const next = (): Promise<void> => new Promise((resolve) => { arrived = resolve })
  // A subscription is live once Redis counts it.
  const redis = raw(t, server)
  while ((await redis.pubsub('NUMSUB', 'seraph:certificates'))[1] !== 1) await new Promise((resolve) => setTimeout(resolve, 20))
  let got = next()
  await a.publish('certificates', 'example.org 01')
  await got
  t.same(received, ['example.org 01'])
  t.match(await a.registry.metrics(), /seraph_store_up 1/)

  const down = stateChange(a, false)
  await server.kill()
  await down
  t.equal(a.up, false)
  t.match(await a.registry.metrics(), /seraph_store_up 0/, 'the metric shows the store down')
  const started = Date.now()
  await t.rejects(a.get('anything'), 'a command while Redis is away fails')
  await t.rejects(a.set('anything', 'x'))
  t.ok(Date.now() - started < 1_000, 'at once: nothing queues for a store that is away')

  const up = stateChange(a, true)
  await server.restart()
  await up
  const redisAgain = raw(t, server)
  while ((await redisAgain.pubsub('NUMSUB', 'seraph:certificates'))[1] !== 1) await new Promise((resolve) => setTimeout(resolve, 50))
  got = next()
  await a.publish('certificates', 'example.org 02')
  await got
  t.same(received, ['example.org 01', 'example.org 02'], 'the subscription came back by itself')
  const changes = logs.filter((line) => /^store (connected|unreachable)/.test(line.msg)).map((line) => line.msg.split(':')[0])
  t.same(changes, ['store connected', 'store unreachable', 'store connected'], 'one line per state change')
  t.equal(logs.find((line) => line.msg.startsWith('store unreachable'))?.level, 40, 'the outage is a warning')
})

t.test('a store that accepts and never answers holds a session lookup at most its bound', async (t) => {
  const server = await startRedis(t)
  const { store: a } = store(t, server)
  await a.connect()
  server.freeze()
  t.teardown(() => server.thaw())
  const started = Date.now()
  await t.rejects(a.get('session:abc', sessionLookupMs), /did not answer/)
  const waited = Date.now() - started
  t.ok(waited >= sessionLookupMs - 5 && waited < sessionLookupMs + 500, `waited ${waited} ms for a ${sessionLookupMs} ms bound`)
})

t.test('start-up with no Redis: connect() gives up after its bound, says so once, and catches up when Redis appears', async (t) => {
  const server = await startRedis(t)
  await server.kill()
  const { store: a, logs } = store(t, server)
  const started = Date.now()
  await a.connect()
  t.ok(Date.now() - started < 3_000, 'start-up is not held')
  t.equal(a.up, false)
  t.same(logs.filter((line) => line.msg.startsWith('store')).map((line) => line.msg.split(':')[0]), ['store unreachable'])
  const up = stateChange(a, true)
  await server.restart()
  await up
  await a.set('late', 'yes')
  t.equal((await a.get('late'))?.toString(), 'yes')
})
