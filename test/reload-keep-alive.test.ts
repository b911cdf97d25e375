import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { cpSync, writeFileSync } from 'node:fs'
import { connect, type ClientHttp2Session } from 'node:http2'
import { connect as netConnect } from 'node:net'
import { join } from 'node:path'
import { connect as tlsConnect } from 'node:tls'
import t from 'tap'
import { Client } from 'undici'
import { bundledPublicDir } from '../src/shared/package-info.js'
import { openConnections } from './helpers/admin-metrics.js'
import { tempDir } from './helpers/certificates.js'
import { Http2Client } from './helpers/http2-load.js'
import { devCa } from './helpers/https-client.js'
import { RawHttp1Connection } from './helpers/raw-http1.js'
import { startSeraph, type SeraphProcess } from './helpers/seraph-process.js'
import { within } from './helpers/within.js'

// Far more than the kernel's socket buffers hold: a client that stops reading
// keeps its response in flight for as long as the test wants.
const bigFileBytes = 48 * 1024 * 1024

function rootWithBigFile (t: { teardown (fn: () => unknown): void }): string {
  const root = join(tempDir(t), 'root')
  cpSync(bundledPublicDir, root, { recursive: true })
  writeFileSync(join(root, 'big.bin'), randomBytes(bigFileBytes))
  return root
}

/** SIGHUP, then waits until every worker that was running has started to drain. */
async function reload (seraph: SeraphProcess): Promise<void> {
  const old = seraph.liveWorkerPids()
  const draining = Promise.all(old.map((pid) => seraph.nextLine((l) => l.role === 'worker' && l.pid === pid && l.msg === 'draining', `worker ${pid} draining`)))
  const done = seraph.nextLine((l) => l.msg === 'reload complete', 'reload complete')
  seraph.signal('SIGHUP')
  await Promise.all([done, draining])
}

type HealthBody = { pid: number }

t.test('HTTP/1.1: a response promised keep-alive before the drain; the next request on that connection still gets a complete answer', async (t) => {
  const ca = await devCa()
  const { seraph, port } = await startSeraph(t, ['--workers', '2', '--root', rootWithBigFile(t)])
  const connection = await RawHttp1Connection.open(port, ca)
  t.teardown(() => connection.close())

  connection.send('/healthz')
  const before = await connection.readResponse()
  const oldPid = (JSON.parse(before.body.toString()) as HealthBody).pid
  // Headers out, body still in flight when the drain begins (Fastify's path: too large for the cache).
  connection.send('/big.bin')
  const head = await connection.readHead()
  connection.socket.pause()
  t.equal(head.status, 200)
  t.not(head.headers.connection, 'close', 'keep-alive was promised before the drain')
  await reload(seraph)
  connection.socket.resume()
  t.equal((await connection.readBody(head.headers)).length, bigFileBytes, 'the download finished on the draining worker')

  // The client may reuse the connection it was promised: it must get an answer.
  connection.send('/healthz')
  const after = await connection.readResponse()
  t.equal(after.status, 200, 'a request on the open connection of a draining worker is answered')
  t.equal(after.headers.connection, 'close', 'with Connection: close')
  t.equal((JSON.parse(after.body.toString()) as HealthBody).pid, oldPid, 'by the draining worker')
  await once(connection.socket, 'close')
  t.ok(connection.ended, 'then the server closes the connection')

  const fresh = await RawHttp1Connection.open(port, ca)
  t.teardown(() => fresh.close())
  fresh.send('/healthz')
  t.not((JSON.parse((await fresh.readResponse()).body.toString()) as HealthBody).pid, oldPid, 'a new connection reaches a new worker')
})

t.test('HTTP/2: GOAWAY on drain, the open stream completes, the next stream goes to a new connection', async (t) => {
  const ca = await devCa()
  const { seraph, port } = await startSeraph(t, ['--workers', '2', '--root', rootWithBigFile(t)])
  const session: ClientHttp2Session = connect(`https://localhost:${port}`, { ca, host: '127.0.0.1' } as never)
  t.teardown(() => session.destroy())
  session.on('error', () => {})
  const goaway = once(session, 'goaway')

  const stream = session.request({ ':path': '/big.bin' })
  const [headers] = await once(stream, 'response') as [Record<string, string>]
  t.equal(Number(headers[':status']), 200)
  stream.pause()
  await reload(seraph)
  t.ok(await within(5000, goaway), 'the draining worker sent GOAWAY (within 5 s of the drain)')
  let received = 0
  stream.on('data', (chunk: Buffer) => { received += chunk.length })
  stream.resume()
  await once(stream, 'end')
  t.equal(received, bigFileBytes, 'the stream open before GOAWAY completed')
  // Node 20 throws at once; Node 24 errors the new stream: either way, refused.
  const refusal = await new Promise<string>((resolve) => {
    try {
      const next = session.request({ ':path': '/healthz' })
      next.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
      next.on('response', () => resolve('answered'))
    } catch (err) {
      resolve((err as NodeJS.ErrnoException).code ?? 'thrown')
    }
  })
  t.equal(refusal, 'ERR_HTTP2_GOAWAY_SESSION', 'the old session takes no new stream')

  const client = new Http2Client(port, ca)
  t.teardown(() => client.close())
  t.equal(await client.get('/healthz'), 200, 'the next stream is answered on a new connection')
})

interface Target { readonly path: string, readonly headers?: Record<string, string>, readonly status: number }

// One per response path: the fast path (a cached page), Fastify's range
// handling, a Fastify route, and the not-found handler.
const targets: readonly Target[] = [
  { path: '/index.html', status: 200 },
  { path: '/index.html', headers: { range: 'bytes=0-99' }, status: 206 },
  { path: '/healthz', status: 200 },
  { path: '/no-such-page', status: 404 }
]

t.test('keep-alive and HTTP/2 loops over every response path through two rolling reloads: no request is lost', async (t) => {
  const ca = await devCa()
  const { seraph, port } = await startSeraph(t, ['--workers', '2'])
  const clientsPerTarget = 3
  const state = { running: true }
  const errors: string[] = []
  const stats = targets.map(() => ({ requests: 0, connections: 0, closes: 0 }))
  const h2Stats = { requests: 0, goaways: 0 }
  // Before the first reload every HTTP/1.1 loop has sent this many requests:
  // keep-alive is proven on them, whatever the machine's speed later.
  const warmUpRequests = 15 * clientsPerTarget
  let warmedUp = (): void => {}
  const warm = new Promise<void>((resolve) => { warmedUp = resolve })

  const http1Loop = async (target: Target, stat: typeof stats[number]): Promise<void> => {
    // pipelining 1 and the server's 10 s keep-alive: one connection until the server says close.
    const client = new Client(`https://127.0.0.1:${port}`, { connect: { ca }, pipelining: 1, headersTimeout: 10_000, bodyTimeout: 10_000 })
    client.on('connect', () => { stat.connections++ })
    try {
      while (state.running) {
        try {
          const res = await client.request({ method: 'GET', path: target.path, headers: target.headers ?? {} })
          await res.body.arrayBuffer()
          stat.requests++
          if (stats.every((s) => s.requests >= warmUpRequests)) warmedUp()
          if (res.headers.connection === 'close') stat.closes++
          if (res.statusCode !== target.status) errors.push(`${target.path}: status ${res.statusCode}`)
        } catch (err) {
          errors.push(`${target.path}: ${(err as NodeJS.ErrnoException).code ?? ''} ${(err as Error).message}`)
        }
      }
    } finally {
      await client.close()
    }
  }
  const h2 = new Http2Client(port, ca, () => { h2Stats.goaways++ })
  const http2Loop = async (target: Target): Promise<void> => {
    while (state.running) {
      try {
        const status = await h2.get(target.path, target.headers)
        h2Stats.requests++
        if (status !== target.status) errors.push(`h2 ${target.path}: status ${status}`)
      } catch (err) {
        errors.push(`h2 ${target.path}: ${(err as Error).message}`)
      }
    }
  }
  const loops = [
    ...targets.flatMap((target, i) => Array.from({ length: clientsPerTarget }, () => http1Loop(target, stats[i]!))),
    ...targets.map((target) => http2Loop(target))
  ]
  t.teardown(() => { state.running = false })

  await warm
  const connectionsWarm = stats.map((s) => s.connections)
  const reloads = 2
  for (let i = 0; i < reloads; i++) {
    const old = seraph.liveWorkerPids()
    const exited = Promise.all(old.map((pid) => seraph.nextLine((l) => l.role === 'primary' && l.msg === 'worker exited' && l.workerPid === pid, `worker ${pid} exited`)))
    await reload(seraph)
    // The loops keep running until every old worker has drained and exited.
    await exited
  }
  state.running = false
  await Promise.all(loops)
  h2.close()

  t.same(errors, [], 'every request got its complete response')
  for (const [i, target] of targets.entries()) {
    const stat = stats[i]!
    const name = `${target.path}${target.headers === undefined ? '' : ' (range)'}`
    t.equal(connectionsWarm[i], clientsPerTarget, `${name}: ${warmUpRequests}+ requests on ${clientsPerTarget} connections before the reloads (keep-alive really reused)`)
    t.ok(stat.connections <= clientsPerTarget + stat.closes, `${name}: ${stat.connections} connections in all, none beyond those the server closed (${stat.closes}), for ${stat.requests} requests`)
    t.ok(stat.closes >= clientsPerTarget * reloads, `${name}: ${stat.closes} responses said Connection: close, so requests did reach draining workers on open connections`)
  }
  t.ok(h2Stats.goaways >= reloads, `${h2Stats.goaways} GOAWAYs received by the HTTP/2 client`)
  t.ok(h2Stats.requests > 100, `${h2Stats.requests} HTTP/2 requests`)
})

t.test('HTTP/2: a connection whose handshake completes after the drain began is sent GOAWAY too, not kept to the drain deadline', async (t) => {
  const ca = await devCa()
  const { seraph, port, ready } = await startSeraph(t, ['--workers', '1', '--admin-port', '0', '--shutdown-timeout', '20s'])
  const adminUrl = ready.adminUrl as string
  // Accepted by the worker before the drain; the TLS handshakes come after.
  // One carries requests like a browser's tab, one (a preconnect) none.
  const [raw, idleRaw] = [netConnect(port, '127.0.0.1'), netConnect(port, '127.0.0.1')]
  for (const socket of [raw, idleRaw]) {
    t.teardown(() => socket.destroy())
    socket.on('error', () => {})
    await once(socket, 'connect')
  }
  await openConnections(adminUrl, 2)
  const [oldPid] = seraph.liveWorkerPids()
  const exited = seraph.nextLine((l) => l.msg === 'worker exited' && l.workerPid === oldPid, `worker ${String(oldPid)} exited`, 30_000)
  await reload(seraph)

  const over = (socket: typeof raw): ClientHttp2Session => {
    const session = connect(`https://localhost:${port}`, {
      createConnection: () => tlsConnect({ socket, ca, servername: 'localhost', ALPNProtocols: ['h2'] })
    })
    t.teardown(() => session.destroy())
    session.on('error', () => {})
    return session
  }
  const idleGoaway = once(over(idleRaw), 'goaway')
  const session = over(raw)
  const told = { goaway: false }
  session.once('goaway', () => { told.goaway = true })
  // A browser's tab: requests on the session for as long as it is open.
  const statuses: number[] = []
  let requests = 0
  const started = performance.now()
  while (!told.goaway && !session.closed && !session.destroyed && performance.now() - started < 15_000) {
    await new Promise<void>((resolve) => {
      const stream = session.request({ ':path': '/healthz' })
      stream.on('response', (headers) => statuses.push(Number(headers[':status'])))
      stream.on('error', () => resolve())
      stream.on('close', () => resolve())
      stream.resume()
      stream.end()
    })
    requests++
  }
  t.ok(told.goaway, `the draining worker sent GOAWAY (after ${requests} request(s), ${Math.round(performance.now() - started)} ms)`)
  t.equal(statuses[0], 200, 'its first request, sent with the handshake, was answered')
  t.ok(await within(5000, idleGoaway), 'the session that sent no request was sent GOAWAY as well')
  await exited
  t.notOk(seraph.lines.some((l) => l.pid === oldPid && String(l.msg).startsWith('forced shutdown')), 'the worker drained without forcing its connections closed')
})
