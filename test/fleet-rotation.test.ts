import t from 'tap'
import { startFleet, type FleetHost } from './helpers/fleet.js'
import type { LogLine } from './helpers/seraph-process.js'
import { probeTls } from './helpers/tls-probe.js'

const rotateMs = 4_000
const rotatedByFleet = (l: LogLine): boolean => l.msg === 'session-ticket keys rotated by the fleet'

t.test('the fleet rotates its ticket keys together: one host rotates, every host takes the new keys', async (t) => {
  const fleet = await startFleet(t, { args: ['--ticket-rotate', `${rotateMs / 1000}s`] })
  const ca = fleet.ca as Buffer
  const all = (msg: string): LogLine[] => fleet.hosts.flatMap((h) => h.seraph.lines.filter((l) => l.msg === msg))
  const first = all('session-ticket keys shared with the fleet')
  t.equal(first.length, 3, 'every host took the fleet\'s keys at start')
  t.equal(new Set(first.map((l) => l.rotatedAt)).size, 1, 'the same keys')
  t.equal(all('session-ticket keys created for the fleet').length, 1, 'made by one host')

  let n = 0
  const probe = async (session?: Buffer): Promise<{ reused: boolean, status: number, session: Buffer | undefined, host: FleetHost }> => {
    const path = `/healthz?rotation=${n++}`
    const result = await probeTls(fleet.httpsPort, { ca, version: 'TLSv1.3', path, ...(session === undefined ? {} : { session }) })
    return { ...result, host: await fleet.hostOf(path) }
  }

  // The next rotation the first host reports, and the same rotation (its
  // rotatedAt) on every host: the others' lines may have been read already,
  // or not yet (a host's line can reach this process a moment after the
  // first host's, and a wait for each host's next line then took the first
  // host's next rotation and the others' current one).
  const nextRotation = async (): Promise<LogLine[]> => {
    const line = await fleet.hosts[0]!.seraph.nextLine(rotatedByFleet, `${fleet.hosts[0]!.name}: a fleet rotation`, rotateMs + 5_000)
    const same = (l: LogLine): boolean => rotatedByFleet(l) && l.rotatedAt === line.rotatedAt
    return await Promise.all(fleet.hosts.map((h) => h.seraph.lines.find(same) ?? h.seraph.nextLine(same, `${h.name}: the same fleet rotation`, 5_000)))
  }

  let before = (await probe()).session
  for (let cycle = 1; cycle <= 2; cycle++) {
    // The next rotation, as every host reports it; leave enough of the period for the probes.
    let rotated = await nextRotation()
    if ((rotated[0]!.time as number) + rotateMs - Date.now() < 2_000) rotated = await nextRotation()
    // nextRotation fails unless every host reports the same keys (rotatedAt).
    const times = rotated.map((l) => l.time as number)
    t.ok(Math.max(...times) - Math.min(...times) < 500, `cycle ${cycle}: every host took the same new keys within a moment (pub/sub): ${times.map((x) => x - Math.min(...times)).join(', ')} ms`)

    const made = await probe()
    const others = [await probe(made.session), await probe(made.session)]
    t.same(new Set([made.host, ...others.map((o) => o.host)]).size, 3, `cycle ${cycle}: the ticket was made on one host and offered to the two others`)
    t.same(others.map((o) => o.reused), [true, true], `cycle ${cycle}: a ticket issued after the rotation by ${made.host.name} resumes on ${others.map((o) => o.host.name).join(' and ')}`)
    const old = await probe(before)
    t.equal(old.status, 200, `cycle ${cycle}: a ticket from before the rotation still connects`)
    t.equal(old.reused, false, 'with a full handshake (Node holds a single ticket key)')
    before = made.session
  }
  // One rotation per period, each made by one host under the lease.
  const rotations = new Set(all('session-ticket keys rotated by the fleet').map((l) => l.rotatedAt))
  t.equal(all('session-ticket keys rotated for the fleet').length, rotations.size, `${rotations.size} rotations, each made by one host`)
  t.notOk(fleet.hosts.some((h) => h.seraph.lines.some((l) => l.msg === 'session-ticket keys rotated')), 'no host rotated keys of its own')
})
