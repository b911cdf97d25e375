import t, { type Test } from 'tap'
import { listen, startFleet, type Fleet } from './helpers/fleet.js'
import { startLoad } from './helpers/load.js'
import type { LogLine } from './helpers/seraph-process.js'
import { probeTls } from './helpers/tls-probe.js'

const sessionIds = { version: 'TLSv1.2', noTickets: true } as const
const storeDown = (l: LogLine): boolean => l.msg === 'store unreachable: serving goes on, shared state waits'
const storeUp = (l: LogLine): boolean => l.msg === 'store connected'

let n = 0
/** One TLS 1.2 connection without tickets through HAProxy; which host served it, and how long the handshake and request took. */
async function probe (fleet: Fleet, session?: Buffer): Promise<{ reused: boolean, status: number, session: Buffer | undefined, host: string, ms: number }> {
  const path = `/healthz?store=${n++}`
  const started = performance.now()
  const result = await probeTls(fleet.httpsPort, { ca: fleet.ca as Buffer, ...sessionIds, path, ...(session === undefined ? {} : { session }) })
  const ms = performance.now() - started
  return { ...result, ms, host: (await fleet.hostOf(path)).name }
}

/**
 * `count` sessions made through HAProxy, then each offered again in the same
 * order; with 3 hosts and roundrobin, `count` = 2 (mod 3) sends each to
 * another host than its own. How many resumed on another host.
 */
async function crossHostResumptions (t: Test, fleet: Fleet, count = 5): Promise<number> {
  const announced = await listen(t, fleet, 'sessions')
  const made = []
  for (let i = 0; i < count; i++) made.push(await probe(fleet))
  await announced.received(count)
  let resumed = 0
  for (const m of made) {
    const again = await probe(fleet, m.session)
    if (again.reused && again.host !== m.host) resumed++
  }
  return resumed
}

t.test('the store (Redis) goes away under load: serving never stops, seraph_store_up says so, and it recovers', async (t) => {
  const fleet = await startFleet(t)
  t.equal(await crossHostResumptions(t, fleet), 5, 'before: session IDs resume across hosts')
  const storeUps = async (): Promise<number[]> => await Promise.all(fleet.hosts.map((h) => h.storeUp()))
  t.same(await storeUps(), [1, 1, 1], 'seraph_store_up 1 on every host')

  await t.test('Redis killed', async (t) => {
    const load = startLoad(fleet.ca as Buffer, fleet.httpsPort, { keepAlive: 4, fresh: 2 })
    t.teardown(() => load.stop())
    await load.answers(200)
    const before = await probe(fleet)
    const down = fleet.nextOnEvery(storeDown, 'the store goes down')
    await fleet.redis.kill()
    await down
    t.same(await storeUps(), [0, 0, 0], 'seraph_store_up 0 on every host')
    await load.answers(300)
    // A session another host made: the lookup finds no store and falls back to a full handshake.
    const offered = []
    for (let i = 0; i < 6; i++) offered.push(await probe(fleet, before.session))
    t.same(offered.map((p) => p.status), Array(6).fill(200), 'TLS 1.2 clients offering a session are served')

    const up = fleet.nextOnEvery(storeUp, 'the store comes back')
    // Redis keeps nothing on disk: the fleet makes new ticket keys.
    const keys = fleet.nextOnEvery((l) => l.msg === 'session-ticket keys rotated by the fleet', 'new fleet keys')
    await fleet.redis.restart()
    await up
    const newKeys = await keys
    t.equal(new Set(newKeys.map((l) => l.rotatedAt)).size, 1, 'every host took the same new ticket keys')
    t.same(await storeUps(), [1, 1, 1], 'seraph_store_up 1 again')
    await load.answers(200)
    const result = await load.stop()
    t.equal(result.failed, 0, `zero failed requests of ${result.ok}: ${result.errors.slice(0, 5).join('; ')}`)
    t.equal(await crossHostResumptions(t, fleet), 5, 'after: session IDs resume across hosts again')
  })

  await t.test('Redis frozen (accepts, never answers)', async (t) => {
    const load = startLoad(fleet.ca as Buffer, fleet.httpsPort, { keepAlive: 4, fresh: 2 })
    t.teardown(() => load.stop())
    await load.answers(200)
    const announced = await listen(t, fleet, 'sessions')
    const before = await probe(fleet)
    await announced.received(1)
    const down = fleet.nextOnEvery(storeDown, 'the store is seen down')
    fleet.redis.freeze()
    t.teardown(() => fleet.redis.thaw())
    // The other hosts know the session's ID and ask the store, which never answers.
    const offered = []
    for (let i = 0; i < 6; i++) offered.push(await probe(fleet, before.session))
    t.same(offered.map((p) => p.status), Array(6).fill(200), 'TLS 1.2 clients offering a session are served')
    t.ok(offered.every((p) => p.ms < 1_000), `never held long by the store: ${offered.map((p) => Math.round(p.ms)).join(', ')} ms`)
    await down
    t.same(await storeUps(), [0, 0, 0], 'seraph_store_up 0 on every host')
    await load.answers(300)
    const up = fleet.nextOnEvery(storeUp, 'the store answers again')
    fleet.redis.thaw()
    await up
    t.same(await storeUps(), [1, 1, 1], 'seraph_store_up 1 again')
    await load.answers(200)
    const result = await load.stop()
    t.equal(result.failed, 0, `zero failed requests of ${result.ok}: ${result.errors.slice(0, 5).join('; ')}`)
    t.equal(await crossHostResumptions(t, fleet), 5, 'after: session IDs resume across hosts again')
  })
})
