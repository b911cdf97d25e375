import { randomBytes } from 'node:crypto'
import pino from 'pino'
import t, { type Test } from 'tap'
import { FleetTicketKeys } from '../src/primary/store/fleet-ticket-keys.js'
import { RedisStore } from '../src/primary/store/redis-store.js'
import { startRedis, type RedisServer } from './helpers/redis-server.js'

// Several hosts' ticket keys through a real Redis: made once, rotated by one
// host per period, the same on every host, and caught up after an outage.

interface Host {
  readonly keys: FleetTicketKeys
  /** Every set of keys this host handed to its workers, in order. */
  readonly applied: string[]
  /** Resolves at the next keys applied. */
  next (): Promise<string>
  readonly messages: string[]
}

async function host (t: Test, server: RedisServer, key: Buffer, rotateMs: number): Promise<Host> {
  const messages: string[] = []
  const log = pino({ level: 'info' }, { write: (line: string) => { messages.push((JSON.parse(line) as { msg: string }).msg) } })
  const store = new RedisStore({ url: server.url(), keyFile: '/dev/null', key }, log)
  t.teardown(() => store.close())
  await store.connect()
  const applied: string[] = []
  let waiter: ((keys: string) => void) | undefined
  const keys = new FleetTicketKeys(store, rotateMs, log, (value) => {
    applied.push(value)
    waiter?.(value)
  })
  t.teardown(() => keys.stop())
  return { keys, applied, messages, next: () => new Promise((resolve) => { waiter = resolve }) }
}

t.test('three hosts share one set of keys, and each rotation is made by one host and reaches all', async (t) => {
  const server = await startRedis(t)
  const key = randomBytes(32)
  const rotateMs = 1_500
  const hosts = [await host(t, server, key, rotateMs), await host(t, server, key, rotateMs), await host(t, server, key, rotateMs)]
  await Promise.all(hosts.map((h) => h.keys.start()))
  const first = hosts[0]?.applied[0]
  t.ok(first !== undefined && Buffer.from(first, 'base64').length === 48, '48 bytes of keys')
  t.same(hosts.map((h) => h.applied), [[first], [first], [first]], 'every host has the same keys')
  const created = hosts.flatMap((h) => h.messages).filter((m) => m === 'session-ticket keys created for the fleet')
  t.equal(created.length, 1, 'made by one host only')

  for (let round = 1; round <= 2; round++) {
    const rotated = await Promise.all(hosts.map((h) => h.next()))
    t.equal(new Set(rotated).size, 1, `rotation ${round}: every host took the same new keys`)
    t.not(rotated[0], first)
  }
  const rotations = hosts.flatMap((h) => h.messages).filter((m) => m === 'session-ticket keys rotated for the fleet')
  t.equal(rotations.length, 2, 'each rotation was made by exactly one host')
  t.same(hosts.map((h) => h.applied.length), [3, 3, 3], 'no host applied anything twice')
})

t.test('a host that missed the rotation message catches up from the store; keys survive nothing but the store', async (t) => {
  const server = await startRedis(t)
  const key = randomBytes(32)
  const a = await host(t, server, key, 60_000)
  await a.keys.start()
  const before = a.applied[0]
  // Redis restarts empty (no persistence here): the next host to look makes new keys, and every host follows.
  await server.kill()
  await server.restart()
  const b = await host(t, server, key, 60_000)
  const changed = a.next()
  await b.keys.start()
  t.not(b.applied[0], before, 'the empty store got new keys')
  t.equal(await changed, b.applied[0], 'the first host took them after its reconnect')
})
