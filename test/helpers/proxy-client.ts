import { connect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'

const signature = Buffer.from('0d0a0d0a000d0a515549540a', 'hex')

/** A v2 header: `command` 0 LOCAL / 1 PROXY, `family` the fam/proto byte; `length` may lie. */
export function v2Header (command: number, family: number, block: Buffer, length = block.length): Buffer {
  const head = Buffer.from([0x20 | command, family, 0, 0])
  head.writeUInt16BE(length, 2)
  return Buffer.concat([signature, head, block])
}

/** A v2 PROXY header for a TCP client at `address` (IPv4 or the 16 bytes of an IPv6 one). */
export function v2Tcp (address: string | Buffer, port: number): Buffer {
  const source = typeof address === 'string' ? Buffer.from(address.split('.').map(Number)) : address
  const destination = Buffer.alloc(source.length)
  const ports = Buffer.alloc(4)
  ports.writeUInt16BE(port, 0)
  ports.writeUInt16BE(443, 2)
  return v2Header(1, source.length === 4 ? 0x11 : 0x21, Buffer.concat([source, destination, ports]))
}

export function v1Header (address: string, port: number): Buffer {
  const family = address.includes(':') ? 'TCP6' : 'TCP4'
  return Buffer.from(`PROXY ${family} ${address} ${family === 'TCP4' ? '10.0.0.1' : '::1'} ${port} 443\r\n`)
}

/** Connects from `localAddress` to 127.0.0.1:`port`. */
function open (port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress })
    socket.once('connect', () => { socket.off('error', reject); resolve(socket) })
    socket.once('error', reject)
  })
}

/**
 * Sends `header` (if any), then `GET path` over TLS (`ca`) or plain HTTP
 * (`ca` undefined) with `Connection: close`; resolves with the raw answer,
 * or '' when the server closed the connection without one.
 */
export async function requestThrough (port: number, header: Buffer | undefined, ca: Buffer | undefined, path = '/healthz', localAddress = '127.0.0.1'): Promise<string> {
  const socket = await open(port, localAddress)
  if (header !== undefined) socket.write(header)
  const raw = `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`
  return await new Promise((resolve) => {
    let answer = ''
    const stream = ca === undefined ? socket : tlsConnect({ socket, ca, servername: 'localhost' }, () => stream.write(raw))
    if (ca === undefined) socket.write(raw)
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => { answer += chunk })
    stream.on('error', () => {})
    socket.on('error', () => {})
    socket.once('close', () => resolve(answer))
  })
}

/**
 * Writes `chunks` `delayMs` apart (then half-closes if `end`), and resolves
 * once the server has closed the connection: with the bytes it answered and
 * how long it took. Stops writing as soon as the server closes.
 */
export async function sendAndWait (port: number, chunks: readonly Buffer[], options: { localAddress?: string, delayMs?: number, end?: boolean } = {}): Promise<{ answered: number, ms: number }> {
  const started = Date.now()
  const socket = await open(port, options.localAddress ?? '127.0.0.1')
  let answered = 0
  let closed = false
  socket.on('data', (chunk: Buffer) => { answered += chunk.length })
  socket.on('error', () => {})
  const done = new Promise<void>((resolve) => socket.once('close', () => { closed = true; resolve() }))
  for (const chunk of chunks) {
    if (closed) break
    socket.write(chunk)
    if (options.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, options.delayMs))
  }
  if (options.end === true && !closed) socket.end()
  await done
  return { answered, ms: Date.now() - started }
}
