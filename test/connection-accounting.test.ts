import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect as http2Connect } from 'node:http2'
import type { Server } from 'node:http'
import { connect as netConnect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { join } from 'node:path'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import { pino } from 'pino'
import t from 'tap'
import type { ConnectionLimits } from '../src/shared/settings.js'
import { bundledPublicDir } from '../src/shared/package-info.js'
import { classify, type CloseRecord } from '../src/worker/close-cause.js'
import { ConnectionAccounting } from '../src/worker/connection-accounting.js'
import { createRedirectServer } from '../src/worker/redirect-server.js'
import { continuation, get, initialWindowSize, rawHttp2, settings, unendedGet, windowUpdate } from './helpers/http2-frames.js'
import { startApp } from './helpers/in-process-app.js'

// Every connection ends exactly once, with its cause: checked in-process on
// the real app and real sockets, fast enough for every mutant
// (npm run test:mutation). hostile-clients.test.ts checks the same through
// the built CLI's metrics.

interface Recorder { opened: number, closed: CloseRecord[], next: () => Promise<CloseRecord> }

function recorder (): Recorder {
  const waiting: Array<(record: CloseRecord) => void> = []
  const rec: Recorder = {
    opened: 0,
    closed: [],
    next: () => new Promise((resolve) => waiting.push(resolve))
  }
  return Object.assign(rec, {
    observer: {
      opened: () => { rec.opened++ },
      closed: (record: CloseRecord) => {
        rec.closed.push(record)
        waiting.shift()?.(record)
      }
    }
  })
}

function accountingFor (rec: Recorder): ConnectionAccounting {
  return new ConnectionAccounting((rec as unknown as { observer: ConstructorParameters<typeof ConnectionAccounting>[0] }).observer)
}

const limits: ConnectionLimits = { handshakeTimeoutMs: 500, headersTimeoutMs: 1000, requestTimeoutMs: 2000, keepAliveTimeoutMs: 1000, socketTimeoutMs: 5000, maxConnections: 100 }

async function serve (t: Tap, root = bundledPublicDir, overrides: Partial<ConnectionLimits> = {}) {
  const rec = recorder()
  const accounting = accountingFor(rec)
  const { port, ca } = await startApp(t, root, { accounting, limits: { ...limits, ...overrides } })
  return { rec, accounting, port, ca }
}

/** A root with one file far larger than the socket buffers of loopback: its response stalls when the client stops reading. */
async function rootWithLargeFile (t: Tap): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'seraph-accounting-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  await writeFile(join(root, 'large.bin'), randomBytes(48 * 1024 * 1024))
  return root
}

function https (port: number, ca: Buffer, onSecure: (socket: TLSSocket) => void): TLSSocket {
  const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] }, () => onSecure(socket))
  socket.on('error', () => {})
  return socket
}

type Tap = { teardown (fn: () => unknown): void }

function tcp (port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1', () => resolve(socket))
    socket.on('error', reject)
  })
}

/** A plain TCP connection that ignores its errors, reads everything and first sends `text`. */
async function sendRaw (port: number, text?: string): Promise<Socket> {
  const socket = await tcp(port)
  socket.on('error', () => {}).resume()
  if (text !== undefined) socket.write(text)
  return socket
}

t.test('each way a connection ends is counted once, with its cause', async (t) => {
  const { rec, accounting, port, ca } = await serve(t)

  let closed = rec.next()
  const early = await tcp(port)
  early.end()
  t.same(await closed, { cause: 'client_closed', reason: 'during handshake' }, 'FIN before the handshake')

  closed = rec.next()
  await sendRaw(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
  t.same(await closed, { cause: 'tls_error', reason: 'http request' }, 'plain HTTP on the TLS port')

  closed = rec.next()
  await sendRaw(port)
  t.same(await closed, { cause: 'timeout', reason: 'handshake' }, 'nothing sent: the handshake timeout')

  closed = rec.next()
  const normal = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] }, () => {
    normal.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
  })
  normal.on('error', () => {}).resume()
  t.same(await closed, { cause: 'normal', reason: '' }, 'a complete exchange')

  closed = rec.next()
  const reset = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] }, () => {
    reset.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n')
    // Headers half sent, then the client goes without a TLS close_notify.
    setImmediate(() => reset.destroy())
  })
  reset.on('error', () => {})
  const resetRecord = await closed
  t.same(resetRecord, { cause: 'client_closed', reason: 'during request' }, 'gone mid-request (not a TLS error)')

  closed = rec.next()
  const idle = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] }, () => {
    idle.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n')
  })
  idle.on('error', () => {}).resume()
  await new Promise((resolve) => idle.once('data', resolve))
  accounting.startShutdown()
  idle.end()
  t.same(await closed, { cause: 'shutdown', reason: '' }, 'a close during a shutdown')

  t.equal(rec.opened, 6, 'six opened')
  t.equal(rec.closed.length, 6, 'six closed, each once')
  t.equal(accounting.open, 0, 'none open')
})

t.test('a keep-alive connection left idle ends at its timeout, counted as timeout/idle', async (t) => {
  const { rec, port, ca } = await serve(t)
  const closed = rec.next()
  const idle = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] }, () => {
    idle.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n')
  })
  idle.on('error', () => {}).resume()
  t.same(await closed, { cause: 'timeout', reason: 'idle' }, 'closed by the server after --keep-alive-timeout')
  t.equal(rec.closed.length, 1)
})

t.test('--socket-timeout bounds requests in progress only: an idle keep-alive connection waits for --keep-alive-timeout', async (t) => {
  const { rec, port, ca } = await serve(t, bundledPublicDir, { socketTimeoutMs: 300, keepAliveTimeoutMs: 1000 })
  const closed = rec.next()
  let answered = 0
  const idle = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] }, () => {
    idle.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n')
  })
  idle.on('data', () => { answered = performance.now() }).on('error', () => {})
  t.same(await closed, { cause: 'timeout', reason: 'idle' }, 'closed as idle, not as a stalled request')
  t.ok(performance.now() - answered >= 900, `closed ${Math.round(performance.now() - answered)} ms after the answer: the keep-alive timeout, not the 300 ms socket timeout`)
})

t.test('destroyAll closes every open connection, counted as shutdown', async (t) => {
  const { rec, accounting, port } = await serve(t)
  const sockets = await Promise.all([tcp(port), tcp(port), tcp(port)])
  for (const socket of sockets) socket.on('error', () => {}).resume()
  while (accounting.open < 3) await new Promise((resolve) => setImmediate(resolve))
  const all = Promise.all([rec.next(), rec.next(), rec.next()])
  accounting.destroyAll()
  t.same(await all, Array(3).fill({ cause: 'shutdown', reason: '' }))
  t.equal(accounting.open, 0)
})

t.test('classify maps socket, TLS, parser and HTTP/2 errors to causes', async (t) => {
  const error = (code: string, reason?: string) => Object.assign(new Error(code), { code, ...(reason === undefined ? {} : { reason }) })
  t.same(classify(error('ERR_TLS_HANDSHAKE_TIMEOUT'), false), { cause: 'timeout', reason: 'handshake' })
  t.same(classify(error('ERR_HTTP_REQUEST_TIMEOUT'), false), { cause: 'timeout', reason: 'headers' })
  t.same(classify(error('ERR_HTTP_REQUEST_TIMEOUT'), true), { cause: 'timeout', reason: 'request' })
  t.same(classify(error('ETIMEDOUT'), true), { cause: 'timeout', reason: 'socket' })
  for (const code of ['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED']) {
    t.same(classify(error(code), false), { cause: 'client_reset', reason: '' }, code)
  }
  t.same(classify(error('ERR_SSL_WRONG_VERSION_NUMBER'), false), { cause: 'tls_error', reason: 'wrong version number' })
  t.same(classify(error('ERR_SSL_X', 'packet length too long'), false), { cause: 'tls_error', reason: 'packet length too long' })
  t.same(classify(error('ERR_OSSL_BAD_DECRYPT', 'bad decrypt'), false), { cause: 'tls_error', reason: 'bad decrypt' }, 'an OpenSSL error outside the SSL library, by its reason')
  t.same(classify(error('HPE_INVALID_METHOD', 'Invalid method encountered'), false), { cause: 'http_error', reason: 'HPE_INVALID_METHOD' }, 'a parser error with its reason is not a TLS error')
  t.same(classify(error('HPE_INVALID_EOF_STATE', 'Invalid EOF state'), true), { cause: 'client_closed', reason: 'during request' })
  const http2 = (message: string) => Object.assign(new Error(message), { code: 'ERR_HTTP2_ERROR' })
  t.same(classify(http2('Flooding was detected in this HTTP/2 session, and it must be closed'), false), { cause: 'http_error', reason: 'http2 flood' })
  t.same(classify(http2('Too many CONTINUATION frames following a HEADER frame'), false), { cause: 'http_error', reason: 'http2 continuation flood' })
  t.same(classify(http2('The user callback function failed'), false), { cause: 'http_error', reason: 'http2 too many refused streams or invalid frames' })
  t.same(classify(http2('Received bad client magic byte string'), false), { cause: 'http_error', reason: 'http2 bad preface' })
  t.same(classify(http2('Protocol error'), false), { cause: 'http_error', reason: 'http2 protocol error' })
  t.same(classify(http2('Invalid argument'), false), { cause: 'http_error', reason: 'invalid argument' }, 'another nghttp2 error by its text')
  t.same(classify(error('ERR_HTTP2_TOO_MANY_INVALID_FRAMES'), false), { cause: 'http_error', reason: 'ERR_HTTP2_TOO_MANY_INVALID_FRAMES' })
  t.same(classify(error('ERR_HTTP2_SESSION_ERROR'), false), { cause: 'client_closed', reason: 'http2 goaway with an error' }, 'the client\'s GOAWAY, whatever its code')
  t.same(classify(error('EWHATEVER'), false), { cause: 'error', reason: 'EWHATEVER' })
  t.same(classify(new Error('no code'), false), { cause: 'error', reason: '' })
})

t.test('a response the client stops reading ends at --socket-timeout, counted as timeout/socket', async (t) => {
  const { rec, port, ca } = await serve(t, await rootWithLargeFile(t), { socketTimeoutMs: 300 })
  const closed = rec.next()
  const started = performance.now()
  const client = https(port, ca, (socket) => socket.write('GET /large.bin HTTP/1.1\r\nHost: localhost\r\n\r\n'))
  client.pause()
  t.same(await closed, { cause: 'timeout', reason: 'socket' }, 'not idle: a response was being sent')
  // The buffers fill in a moment; then 1-1.25 timeouts. Generous for a busy machine, far below a sweep 8× too slow.
  t.ok(performance.now() - started < 2_000, `closed ${Math.round(performance.now() - started)} ms after the request`)
})

t.test('a download read slowly but steadily outlives --socket-timeout: only a stall ends a connection', async (t) => {
  // 1 s, not less: this test's client and server share one event loop, and
  // on a loaded machine (3 tap jobs on 2 cores) it stalled past 300 ms once.
  const timeoutMs = 1000
  const { rec, port, ca } = await serve(t, await rootWithLargeFile(t), { socketTimeoutMs: timeoutMs })
  const closed = rec.next()
  let received = 0
  const started = performance.now()
  const client = https(port, ca, (socket) => socket.write('GET /large.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'))
  // 512 KiB every 50 ms (~10 MB/s): the 48 MiB take far longer than the
  // timeout, and the server's side moves often enough. (Read much slower and
  // it would not: Linux wakes a writer only once a third of its send buffer,
  // up to 4 MiB on loopback, is free, so the server would see no progress for
  // longer than the timeout, with Node's own socket timeout too.)
  let budget = 0
  client.on('data', (chunk: Buffer) => {
    received += chunk.length
    budget -= chunk.length
    if (budget <= 0) client.pause()
  })
  const reader = setInterval(() => {
    budget = 512 * 1024
    client.resume()
  }, 50)
  t.teardown(() => clearInterval(reader))
  // A non-event: waited for as long as four timeouts (the 48 MiB take at
  // least 4.8 s at this pace, so the download is still going).
  const until = await Promise.race([closed, new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), 4 * timeoutMs))])
  t.equal(until, 'still open', `open ${Math.round(performance.now() - started)} ms after the request while bytes kept moving`)
  t.ok(received > 0, `${received} bytes received meanwhile`)
  clearInterval(reader)
  client.pause()
  t.same(await closed, { cause: 'timeout', reason: 'socket' }, 'then the client stops reading: the stall ends it')
})

t.test('a client that closes its side while a response is sent: client_closed/during request', async (t) => {
  const { rec, port, ca } = await serve(t, await rootWithLargeFile(t))
  const closed = rec.next()
  const client = https(port, ca, (socket) => {
    socket.write('GET /large.bin HTTP/1.1\r\nHost: localhost\r\n\r\n')
    socket.once('data', () => socket.end())
  })
  client.resume()
  t.same(await closed, { cause: 'client_closed', reason: 'during request' })
})

t.test('a client that resets while a response is sent: client_reset', async (t) => {
  const { rec, port, ca } = await serve(t, await rootWithLargeFile(t))
  const closed = rec.next()
  const raw = await tcp(port)
  raw.on('error', () => {})
  const client = tlsConnect({ socket: raw, ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] }, () => {
    client.write('GET /large.bin HTTP/1.1\r\nHost: localhost\r\n\r\n')
    client.once('data', () => raw.resetAndDestroy())
  })
  client.on('error', () => {})
  t.same(await closed, { cause: 'client_reset', reason: '' })
})

t.test('a POST whose body never comes ends at --request-timeout, counted as timeout/request', async (t) => {
  const { rec, port, ca } = await serve(t, bundledPublicDir, { headersTimeoutMs: 300, requestTimeoutMs: 600 })
  const closed = rec.next()
  const client = https(port, ca, (socket) => socket.write('POST /index.html HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nabc'))
  client.resume()
  t.same(await closed, { cause: 'timeout', reason: 'request' })
})

t.test('a TLS connection closed after its handshake, before any request, is a normal close', async (t) => {
  const { rec, port, ca } = await serve(t)
  const closed = rec.next()
  https(port, ca, (socket) => socket.end()).resume()
  t.same(await closed, { cause: 'normal', reason: '' })
})

async function listen (t: Tap, server: Server | NetServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  return (server.address() as { port: number }).port
}

t.test('the plain-HTTP redirect listener counts its connections too, with no handshake to wait for', async (t) => {
  const rec = recorder()
  const accounting = accountingFor(rec)
  const server = createRedirectServer(8443, { ...limits, keepAliveTimeoutMs: 300 }, pino({ level: 'silent' }), { accounting })
  t.teardown(() => server.closeAllConnections())
  const port = await listen(t, server)

  let closed = rec.next()
  ;(await tcp(port)).end()
  t.same(await closed, { cause: 'normal', reason: '' }, 'connected and closed: no handshake was pending')

  closed = rec.next()
  await sendRaw(port, 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n')
  t.same(await closed, { cause: 'timeout', reason: 'idle' }, 'answered, then idle past the keep-alive timeout')

  closed = rec.next()
  await sendRaw(port, 'NOT HTTP\r\n\r\n')
  t.same(await closed, { cause: 'http_error', reason: 'HPE_INVALID_METHOD' }, 'a parser error')

  t.equal(rec.opened, 3)
  t.equal(accounting.open, 0)
})

t.test('track, refuse, blame and destroyAll: each connection counted once, the first cause wins', async (t) => {
  const rec = recorder()
  const accounting = accountingFor(rec)
  const accepted: Socket[] = []
  const waiting: Array<(socket: Socket) => void> = []
  const server = createNetServer((socket) => {
    // The PROXY protocol reader tracks a connection before the server's own listener does.
    accounting.track(socket)
    accounting.track(socket)
    socket.on('error', () => {})
    const waiter = waiting.shift()
    if (waiter === undefined) accepted.push(socket)
    else waiter(socket)
  })
  const port = await listen(t, server)
  const accept = async (): Promise<{ client: Socket, socket: Socket }> => {
    const socket = new Promise<Socket>((resolve) => {
      const ready = accepted.shift()
      if (ready === undefined) waiting.push(resolve)
      else resolve(ready)
    })
    const client = await tcp(port)
    client.on('error', () => {}).resume()
    t.teardown(() => client.destroy())
    return { client, socket: await socket }
  }
  const reset = Object.assign(new Error('reset'), { code: 'ECONNRESET' })

  let closed = rec.next()
  const first = await accept()
  accounting.refuse(first.socket, { cause: 'proxy_protocol', reason: 'untrusted' })
  accounting.blame(first.socket, reset)
  first.socket.destroy()
  t.same(await closed, { cause: 'proxy_protocol', reason: 'untrusted' }, 'refused, then an error: the refusal counts')

  closed = rec.next()
  const second = await accept()
  accounting.blame(second.socket, reset)
  accounting.refuse(second.socket, { cause: 'proxy_protocol', reason: 'malformed' })
  second.socket.destroy()
  t.same(await closed, { cause: 'client_reset', reason: '' }, 'an error, then a refusal: the error counts')

  const refused = await accept()
  const plain = await accept()
  accounting.refuse(refused.socket, { cause: 'proxy_protocol', reason: 'timeout' })
  const both = Promise.all([rec.next(), rec.next()])
  accounting.destroyAll()
  t.same((await both).map((r) => `${r.cause}/${r.reason}`).sort(), ['proxy_protocol/timeout', 'shutdown/'], 'destroyAll keeps a cause already known')

  closed = rec.next()
  const late = await accept()
  late.client.end()
  t.same(await closed, { cause: 'shutdown', reason: '' }, 'after destroyAll, a quiet close counts as shutdown')

  t.equal(rec.opened, 5, 'each tracked once, though tracked twice')
  t.equal(rec.closed.length, 5)
  t.equal(accounting.open, 0)
  t.ok(plain.socket.destroyed)
})

t.test('HTTP/2: a session nghttp2 ends for a flood is counted by that cause, not as a normal close', async (t) => {
  const { rec, port, ca } = await serve(t)
  const client = await rawHttp2(port, ca)
  t.teardown(() => client.destroy())
  // Headers that never end (CVE-2024-28182): nghttp2 counts the CONTINUATION
  // frames, where a SETTINGS or PING flood depends on how fast the server
  // writes (here, in the client's own process, fast enough never to flood).
  await client.send(Buffer.concat([unendedGet(1, '/index.html'), ...Array.from({ length: 100 }, () => continuation(1))]))
  t.same(await rec.next(), { cause: 'http_error', reason: 'http2 continuation flood' })
  t.equal(rec.opened, 1)
})

t.test('HTTP/2: an idle session ends at --keep-alive-timeout, counted as timeout/idle', async (t) => {
  const { rec, port, ca } = await serve(t)
  const client = await rawHttp2(port, ca)
  t.teardown(() => client.destroy())
  await client.send(get(1, '/index.html'))
  await client.streamEnded(1)
  t.same(await rec.next(), { cause: 'timeout', reason: 'idle' })
  t.ok(client.goaway !== undefined, 'with a GOAWAY first')
})

t.test('HTTP/2: a session whose stream stalls is cut --socket-timeout after its GOAWAY, counted as timeout/socket', async (t) => {
  const { rec, port, ca } = await serve(t, await rootWithLargeFile(t), { socketTimeoutMs: 300 })
  const client = await rawHttp2(port, ca)
  t.teardown(() => client.destroy())
  // A window of 0: not one byte of the file can be sent.
  await client.send(settings([[initialWindowSize, 0]]))
  await client.send(get(1, '/large.bin'))
  t.same(await rec.next(), { cause: 'timeout', reason: 'socket' })
  t.notOk(client.ended.has(1), 'the stream never ended')
})

t.test('HTTP/2: a session its client ends after an answer is a normal close', async (t) => {
  const { rec, port, ca } = await serve(t)
  // Node's own client: a request, then close(), GOAWAY and the end of the connection, as a browser leaves.
  const client = http2Connect(`https://localhost:${port}`, { ca })
  t.teardown(() => client.destroy())
  const stream = client.request({ ':path': '/index.html' })
  stream.resume()
  await once(stream, 'end')
  client.close()
  t.same(await rec.next(), { cause: 'normal', reason: '' })
  t.equal(rec.closed.length, 1)
})

t.test('HTTP/2: past its GOAWAY, a session whose client reads slowly keeps its stream while bytes move, and is cut once they stop', async (t) => {
  const { rec, port, ca } = await serve(t, await rootWithLargeFile(t), { socketTimeoutMs: 400 })
  const client = await rawHttp2(port, ca)
  t.teardown(() => client.destroy())
  await client.send(settings([[initialWindowSize, 4096]]))
  await client.send(get(1, '/large.bin'))
  await client.goawayReceived()
  // 4 KiB more every 100 ms, for 1.5 s: bytes move within every --socket-timeout.
  const closing = rec.next()
  for (let i = 0; i < 15; i++) {
    await sleep(100)
    await client.send(Buffer.concat([windowUpdate(0, 4096), windowUpdate(1, 4096)]))
  }
  t.same(rec.closed, [], 'not cut while the client reads')
  const read = client.data.get(1) ?? 0
  t.ok(read >= 4096 * 10, `the download went on after the GOAWAY (${read} bytes)`)
  // The client stops reading: cut --socket-timeout later.
  t.same(await closing, { cause: 'timeout', reason: 'socket' })
})
