import { randomBytes } from 'node:crypto'
import { connect as netConnect, createServer, type Socket } from 'node:net'
import { connect as http2Connect } from 'node:http2'
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls'

/** A real ClientHello as Node's TLS client sends it, captured from a plain TCP listener. */
export async function captureClientHello (): Promise<Buffer> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      server.once('connection', (socket) => {
        socket.once('data', (data: Buffer) => {
          resolve(data)
          socket.destroy()
        })
      })
      const client = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false })
      client.on('error', () => {})
      setTimeout(() => reject(new Error('no ClientHello')), 5000).unref()
    })
  } finally {
    server.close()
  }
}

/** Resolves when `socket` has closed, whatever happened to it. */
function closed (socket: Socket): Promise<void> {
  socket.on('error', () => {})
  // Without a reader a socket never sees the server's FIN, and never closes.
  socket.resume()
  return new Promise((resolve) => socket.once('close', () => resolve()))
}

function connected (port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1', () => resolve(socket))
    socket.once('error', reject)
  })
}

/** A TLS session over a raw TCP socket we can reset. */
/** `halfOpen`: the TLS socket keeps writing after the server's FIN. */
function handshaken (port: number, ca: Buffer, alpn: string[] = ['http/1.1'], halfOpen = false): Promise<{ raw: Socket, tls: TLSSocket }> {
  return new Promise((resolve, reject) => {
    const raw = netConnect({ port, host: '127.0.0.1', allowHalfOpen: halfOpen }, () => {
      // tls.connect hands allowHalfOpen to its TLSSocket; @types/node does not list it.
      const options: ConnectionOptions & { allowHalfOpen: boolean } = { socket: raw, ca, servername: 'localhost', ALPNProtocols: alpn, allowHalfOpen: halfOpen }
      const tls = tlsConnect(options, () => resolve({ raw, tls }))
      tls.on('error', reject)
    })
    raw.on('error', reject)
  })
}

function written (socket: Socket, data: Buffer | string): Promise<void> {
  return new Promise((resolve) => socket.write(data, () => resolve()))
}

/** Sends `data` and waits for the server to close the connection. */
async function sendAndWait (port: number, data: Buffer | string): Promise<void> {
  const socket = await connected(port)
  const done = closed(socket)
  socket.write(data)
  await done
}

const sslv2Hello = Buffer.concat([
  Buffer.from([0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10]),
  Buffer.from('0700c0050080030080010080060040040080020080', 'hex'),
  randomBytes(16)
])

export type Attack = (port: number, ca: Buffer, clientHello: Buffer) => Promise<void>

/** Each way a client can misbehave, named as in the issue. */
export const attacks: Record<string, Attack> = {
  'RST before any byte': async (port) => {
    const socket = await connected(port)
    const done = closed(socket)
    socket.resetAndDestroy()
    await done
  },
  'RST in the middle of a ClientHello': async (port, _ca, hello) => {
    const socket = await connected(port)
    const done = closed(socket)
    await written(socket, hello.subarray(0, 40))
    socket.resetAndDestroy()
    await done
  },
  'RST right after a full ClientHello': async (port, _ca, hello) => {
    const socket = await connected(port)
    const done = closed(socket)
    socket.once('data', () => socket.resetAndDestroy())
    socket.write(hello)
    await done
  },
  'RST right after the handshake': async (port, ca) => {
    const { raw } = await handshaken(port, ca)
    const done = closed(raw)
    raw.resetAndDestroy()
    await done
  },
  'RST in the middle of request headers': async (port, ca) => {
    const { raw, tls } = await handshaken(port, ca)
    const done = closed(raw)
    await written(tls, 'GET /index.html HTTP/1.1\r\nHost: local')
    raw.resetAndDestroy()
    await done
  },
  'RST in the middle of a large response': async (port, ca) => {
    const { raw, tls } = await handshaken(port, ca)
    const done = closed(raw)
    tls.once('data', () => raw.resetAndDestroy())
    tls.write('GET /images/wallpaper-2560.png HTTP/1.1\r\nHost: localhost\r\n\r\n')
    await done
  },
  'FIN in the middle of a ClientHello': async (port, _ca, hello) => {
    const socket = await connected(port)
    const done = closed(socket)
    socket.end(hello.subarray(0, 40))
    await done
  },
  'close_notify immediately followed by RST': async (port, ca) => {
    const { raw, tls } = await handshaken(port, ca)
    const done = closed(raw)
    tls.end(() => raw.resetAndDestroy())
    await done
  },
  'random bytes': (port) => sendAndWait(port, randomBytes(512)),
  'a TLS record header with an absurd length': (port) => sendAndWait(port, Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff]), randomBytes(64)])),
  'a real ClientHello with bytes flipped': (port, _ca, hello) => {
    const flipped = Buffer.from(hello)
    flipped[5] = 0x02 // handshake type: ServerHello, from a client
    flipped[43] = 0xff // session id length far past the message
    return sendAndWait(port, flipped)
  },
  'an SSLv2-style hello': (port) => sendAndWait(port, sslv2Hello),
  'plain HTTP sent to the TLS port': (port) => sendAndWait(port, 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'),
  'HTTP/2: the connection preface, then garbage': async (port, ca) => {
    const { raw, tls } = await handshaken(port, ca, ['h2'])
    const done = closed(raw)
    tls.resume()
    tls.on('error', () => {})
    tls.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), randomBytes(64)]))
    await done
  },
  'HTTP/2: RST in the middle of a stream': async (port, ca) => {
    const { raw, tls } = await handshaken(port, ca, ['h2'])
    const done = closed(raw)
    const session = http2Connect('https://localhost', { createConnection: () => tls })
    session.on('error', () => {})
    const stream = session.request({ ':path': '/images/wallpaper-2560.png' })
    stream.on('error', () => {})
    stream.once('data', () => raw.resetAndDestroy())
    await done
  },
  'a client that connects and sends nothing': async (port) => {
    const socket = await connected(port)
    await closed(socket)
  }
}

/**
 * Runs `attack` `rounds` times, `concurrency` at a time. Returns how many
 * rounds the server left hanging for more than `stuckAfterMs`.
 */
export async function runAttack (attack: Attack, rounds: number, concurrency: number, port: number, ca: Buffer, hello: Buffer, stuckAfterMs = 10_000): Promise<number> {
  let next = 0
  let stuck = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < rounds) {
      let timer: NodeJS.Timeout | undefined
      const watchdog = new Promise<void>((resolve) => {
        timer = setTimeout(() => { stuck++; resolve() }, stuckAfterMs)
      })
      await Promise.race([attack(port, ca, hello), watchdog])
      clearTimeout(timer)
    }
  }))
  return stuck
}

/** A slowloris client: completes the handshake, then trickles a header one byte at a time until closed. */
export async function slowHeaders (port: number, ca: Buffer, intervalMs: number): Promise<string> {
  const { raw, tls } = await handshaken(port, ca)
  const done = closed(raw)
  let answer = ''
  tls.setEncoding('utf8').on('data', (chunk: string) => { answer += chunk })
  tls.on('error', () => {})
  const header = 'GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ' + 'a'.repeat(10_000)
  let i = 0
  const timer = setInterval(() => {
    if (tls.writable) tls.write(header[i++ % header.length] as string)
  }, intervalMs)
  await done
  clearInterval(timer)
  return answer
}

/**
 * A client that keeps sending one endless header, as fast as the connection
 * takes it, until the server's answer ends the stream: what it read, and
 * whether the connection ended with a reset (ECONNRESET) rather than a close.
 */
export async function floodHeaders (port: number, ca: Buffer, options: { halfOpen?: boolean } = {}): Promise<{ answer: string, reset: boolean, msAfterEnd: number }> {
  const { raw, tls } = await handshaken(port, ca, undefined, options.halfOpen === true)
  const done = closed(raw)
  let answer = ''
  let reset = false
  let endedAt = Number.NaN
  tls.once('end', () => { endedAt = performance.now() })
  const onError = (err: NodeJS.ErrnoException): void => { if (err.code === 'ECONNRESET') reset = true }
  tls.on('error', onError)
  raw.on('error', onError)
  tls.setEncoding('utf8').on('data', (chunk: string) => { answer += chunk })
  const chunk = 'X-Flood: ' + 'a'.repeat(8 * 1024) + '\r\n'
  // setImmediate: a 'drain' that follows a write at once would otherwise
  // chain pumps without ever letting this client read the answer.
  const pump = (): void => {
    while (tls.writable) {
      if (!tls.write(chunk)) {
        tls.once('drain', () => setImmediate(pump))
        return
      }
    }
  }
  tls.write('GET / HTTP/1.1\r\nHost: localhost\r\n')
  pump()
  await done
  return { answer, reset, msAfterEnd: performance.now() - endedAt }
}
