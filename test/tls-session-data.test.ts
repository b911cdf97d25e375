import { constants } from 'node:crypto'
import { connect } from 'node:tls'
import t from 'tap'
import { sessionProtocolVersion, tls13 } from '../src/worker/tls/tls-session-data.js'
import { startApp } from './helpers/in-process-app.js'
import { bundledPublicDir } from '../src/shared/package-info.js'

t.test('reads the protocol version of real sessions from Node\'s newSession event', async (t) => {
  const { app, port, ca } = await startApp(t, bundledPublicDir)
  const seen: number[] = []
  app.server.on('newSession', (_id: Buffer, data: Buffer, done: () => void) => {
    const version = sessionProtocolVersion(data)
    if (version !== undefined) seen.push(version)
    done()
  })
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    await new Promise<void>((resolve, reject) => {
      // A TLS 1.2 client without tickets gets a stateful session.
      const secureOptions = version === 'TLSv1.2' ? constants.SSL_OP_NO_TICKET : 0
      const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', minVersion: version, maxVersion: version, secureOptions }, () => {
        socket.end('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
      })
      socket.resume()
      socket.on('error', reject)
      socket.on('close', () => resolve())
    })
  }
  t.ok(seen.includes(0x0303), 'a TLS 1.2 session')
  t.ok(seen.includes(tls13), 'a TLS 1.3 session')
})

t.test('anything else is undefined', async (t) => {
  t.equal(sessionProtocolVersion(Buffer.alloc(0)), undefined)
  t.equal(sessionProtocolVersion(Buffer.from('hello')), undefined)
  t.equal(sessionProtocolVersion(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01])), undefined)
})
