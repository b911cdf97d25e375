import { statSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { health, settled, total, type Metrics } from './helpers/admin-metrics.js'
import { cancel, continuation, frame, frameType, get, initialWindowSize, maxConcurrentStreams, rawHttp2, settings, unendedGet, windowUpdate, type RawHttp2 } from './helpers/http2-frames.js'
import { devCa, getFresh } from './helpers/https-client.js'
import { startSeraph } from './helpers/seraph-process.js'
import { within } from './helpers/within.js'

// The HTTP/2 attacks that took servers down (CVE-2019-9512/9515 ping and
// settings floods, CVE-2023-44487 rapid reset, CVE-2024-28182 CONTINUATION
// flood) and a flood of streams nobody reads, sent frame by frame at one
// worker. Each must end its connection, leave the worker running and
// answering, and be counted once with a cause that says what happened.

const flags = ['--workers', '1', '--admin-port', '0', '--keep-alive-timeout', '1s', '--socket-timeout', '2s']
/** nginx's http2_max_concurrent_streams, seraph's limit (src/worker/app.ts). */
const maxStreams = 128
const frames = 20_000
const streams = 1_000

/** Closed connections by `cause: reason`, over all workers. */
function closes (metrics: Metrics): Map<string, number> {
  const counts = new Map<string, number>()
  for (const [series, value] of metrics) {
    if (!series.startsWith('seraph_connections_closed_total{') || !series.includes('worker="all"')) continue
    const key = `${/cause="([^"]*)"/.exec(series)?.[1] ?? ''}: ${/reason="([^"]*)"/.exec(series)?.[1] ?? ''}`
    counts.set(key, (counts.get(key) ?? 0) + value)
  }
  return counts
}

/** Sends `count` frames made by `make(i)`, 100 per write, until the server closes. Returns how many went out. */
async function flood (client: RawHttp2, count: number, make: (i: number) => Buffer): Promise<number> {
  let sent = 0
  while (sent < count) {
    const batch = Array.from({ length: Math.min(100, count - sent) }, (_, j) => make(sent + j))
    if (!await client.send(Buffer.concat(batch))) break
    sent += batch.length
  }
  return sent
}

interface Attack {
  readonly name: string
  run (client: RawHttp2): Promise<void>
  /** The close causes the connection may be counted with (`cause: reason`). */
  readonly counted: RegExp
  check? (t: Test, client: RawHttp2): void
}

const attacks: Attack[] = [
  {
    // Without a limit all 1,000 are answered and held (20,000 grew a worker by ~260 MiB).
    name: `a flood of streams: ${streams} requests for a large file at once, with a window of 0 so that no byte of it can be sent`,
    async run (client) {
      await client.send(settings([[initialWindowSize, 0]]))
      await flood(client, streams, (i) => get(1 + 2 * i, '/images/wallpaper-2560.png'))
    },
    // nghttp2 refuses the streams over the limit; the 128 it took stall:
    // GOAWAY after --keep-alive-timeout, cut --socket-timeout later.
    counted: /^timeout: socket$/,
    check (t, client) {
      t.equal(client.settings.get(maxConcurrentStreams), maxStreams, `the server announced its limit of ${maxStreams} streams`)
      const answered = client.received.get(frameType.headers) ?? 0
      t.ok(answered <= maxStreams, `at most ${maxStreams} streams answered (${answered})`)
      t.ok((client.received.get(frameType.rstStream) ?? 0) > 0, 'the streams over the limit were refused')
    }
  },
  {
    name: `rapid reset: ${frames} requests, each cancelled at once`,
    async run (client) {
      await flood(client, frames / 2, (i) => Buffer.concat([get(1 + 2 * i, '/index.html'), cancel(1 + 2 * i)]))
    },
    // Node 24 ends the session when nghttp2's reset limit sends its GOAWAY;
    // Node 20 leaves it open until --keep-alive-timeout.
    counted: /^(http_error: http2 protocol error|timeout: idle)$/,
    check (t, client) {
      // Node 24 closes right after its GOAWAY, and the close can reach the
      // client (a reset: its frames were unread) before the GOAWAY does;
      // the cause counted above says the server ended it for the resets.
      const last = client.goaway?.lastStreamId
      if (last !== undefined) t.ok(last < frames / 4, `it stopped taking streams at stream ${last}, long before the ${frames / 2}th request`)
      else t.pass('the connection ended before its GOAWAY arrived (Node 24)')
    }
  },
  {
    name: `a CONTINUATION flood: a request whose headers never end, in ${frames} frames`,
    async run (client) {
      await client.send(unendedGet(1, '/index.html'))
      await flood(client, frames, () => continuation(1))
    },
    counted: /^http_error: http2 continuation flood$/
  },
  {
    name: `a SETTINGS flood from a client that reads nothing: ${frames} frames, each to be acknowledged`,
    async run (client) {
      client.stopReading()
      await flood(client, frames, () => settings([[initialWindowSize, 65_535]]))
      client.resumeReading()
    },
    counted: /^http_error: http2 flood$/
  },
  {
    name: `a PING flood from a client that reads nothing: ${frames} frames, each to be answered`,
    async run (client) {
      client.stopReading()
      await flood(client, frames, () => frame(frameType.ping, 0, 0, Buffer.alloc(8)))
      client.resumeReading()
    },
    counted: /^http_error: http2 flood$/
  }
]

t.test('HTTP/2 floods end their connection, each counted once by its cause; the worker keeps answering', async (t) => {
  const ca = await devCa()
  const { port, ready } = await startSeraph(t, flags)
  const adminUrl = ready.adminUrl as string
  const pids = (await health(adminUrl)).workers.map((w) => w.pid)
  t.equal(pids.length, 1)

  for (const attack of attacks) {
    await t.test(attack.name, async (t) => {
      const before = await settled(adminUrl)
      const client = await rawHttp2(port, ca)
      t.teardown(() => client.destroy())
      await attack.run(client)
      // --keep-alive-timeout 1 s, --socket-timeout 2 s: a connection the server only let idle or stall closes within 3 s.
      t.not(await within(10_000, client.closed.then(() => 'closed')), undefined, 'the server closed the connection')
      const after = await settled(adminUrl)
      t.equal(total(after, 'seraph_connections_opened_total') - total(before, 'seraph_connections_opened_total'), 1, 'one connection opened')
      const counted = [...closes(after)].flatMap(([key, n]) => Array<string>(n - (closes(before).get(key) ?? 0)).fill(key))
      t.equal(counted.length, 1, `counted once: ${counted.join(', ')}`)
      t.match(counted[0], attack.counted, `counted as ${String(counted[0])}`)
      attack.check?.(t, client)
      t.same((await health(adminUrl)).workers.map((w) => w.pid), pids, 'the same worker: none crashed')
      t.equal((await getFresh(ca, port, '/index.html')).status, 200, 'a normal request is answered')
    })
  }
})

t.test('a slow HTTP/2 reader keeps its download past the GOAWAY of an idle session, as long as bytes move', async (t) => {
  const ca = await devCa()
  const { port } = await startSeraph(t, flags)
  const size = statSync(new URL('../public/images/listening-socket.png', import.meta.url)).size
  const client = await rawHttp2(port, ca)
  t.teardown(() => client.destroy())
  // 4 KiB of window at a time, one more every 1.5 s (10 in all): longer than
  // --keep-alive-timeout (1 s) without a frame, shorter than --socket-timeout (2 s).
  const step = 4096
  await client.send(settings([[initialWindowSize, step]]))
  await client.send(get(1, '/images/listening-socket.png'))
  let granted = step
  while (!client.ended.has(1) && granted < size + step) {
    // Reading the clock is the test here: the reader is slow on purpose.
    await sleep(1500)
    await client.send(Buffer.concat([windowUpdate(0, step), windowUpdate(1, step)]))
    granted += step
  }
  await within(5_000, client.streamEnded(1))
  t.ok(client.goaway !== undefined, 'the session got GOAWAY meanwhile (idle for --keep-alive-timeout)')
  t.equal(client.data.get(1), size, `the whole file arrived (${size} bytes in ${Math.ceil(size / step)} windows)`)
  t.ok(client.ended.has(1), 'and its stream ended')
})
