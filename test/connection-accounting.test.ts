import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import t from 'tap'
import { bundledPublicDir } from '../src/shared/package-info.js'
import { classify, ConnectionAccounting, type CloseRecord } from '../src/worker/connection-accounting.js'
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

async function serve (t: Tap) {
  const rec = recorder()
  const accounting = new ConnectionAccounting((rec as unknown as { observer: ConstructorParameters<typeof ConnectionAccounting>[0] }).observer)
  const { port, ca } = await startApp(t, bundledPublicDir, { accounting, limits: { handshakeTimeoutMs: 500, headersTimeoutMs: 1000, requestTimeoutMs: 2000, keepAliveTimeoutMs: 1000, socketTimeoutMs: 5000, maxConnections: 100 } })
  return { rec, accounting, port, ca }
}

type Tap = { teardown (fn: () => unknown): void }

function tcp (port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1', () => resolve(socket))
    socket.on('error', reject)
  })
}

t.test('each way a connection ends is counted once, with its cause', async (t) => {
  const { rec, accounting, port, ca } = await serve(t)

  let closed = rec.next()
  const early = await tcp(port)
  early.end()
  t.same(await closed, { cause: 'client_closed', reason: 'during handshake' }, 'FIN before the handshake')

  closed = rec.next()
  const garbage = await tcp(port)
  garbage.on('error', () => {}).resume()
  garbage.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
  t.same(await closed, { cause: 'tls_error', reason: 'http request' }, 'plain HTTP on the TLS port')

  closed = rec.next()
  const silent = await tcp(port)
  silent.on('error', () => {}).resume()
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

t.test('classify maps socket, TLS and parser errors to causes', async (t) => {
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
  t.same(classify(error('HPE_INVALID_METHOD', 'Invalid method encountered'), false), { cause: 'http_error', reason: 'HPE_INVALID_METHOD' }, 'a parser error with its reason is not a TLS error')
  t.same(classify(error('HPE_INVALID_EOF_STATE', 'Invalid EOF state'), true), { cause: 'client_closed', reason: 'during request' })
  t.same(classify(error('EWHATEVER'), false), { cause: 'error', reason: 'EWHATEVER' })
  t.same(classify(new Error('no code'), false), { cause: 'error', reason: '' })
})
