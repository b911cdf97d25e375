import { EventEmitter, once } from 'node:events'
import { connect, type TLSSocket } from 'node:tls'
import { within } from './within.js'

/**
 * HTTP/2 spoken frame by frame (RFC 9113 §4.1), for the clients no library
 * would be: floods, resets, streams never read. Only what the tests send.
 */
export const frameType = { data: 0, headers: 1, rstStream: 3, settings: 4, ping: 6, goaway: 7, windowUpdate: 8, continuation: 9 } as const
export const flag = { endStream: 0x1, ack: 0x1, endHeaders: 0x4 } as const
/** SETTINGS_MAX_CONCURRENT_STREAMS */
export const maxConcurrentStreams = 0x3
/** SETTINGS_INITIAL_WINDOW_SIZE */
export const initialWindowSize = 0x4

export function frame (type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9)
  header.writeUIntBE(payload.length, 0, 3)
  header[3] = type
  header[4] = flags
  header.writeUInt32BE(stream, 5)
  return Buffer.concat([header, payload])
}

/** The client's connection preface and its (empty) SETTINGS. */
export const preface = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(frameType.settings, 0, 0)])

export function settings (entries: ReadonlyArray<readonly [number, number]>): Buffer {
  const payload = Buffer.alloc(6 * entries.length)
  entries.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, 6 * i)
    payload.writeUInt32BE(value, 6 * i + 2)
  })
  return frame(frameType.settings, 0, 0, payload)
}

/**
 * A header block for `GET https://localhost{path}` in HPACK: the static
 * table's `:method: GET` and `:scheme: https`, `:path` and `:authority` as
 * literals that are not indexed (so every block is the same bytes).
 */
export function getBlock (path: string): Buffer {
  const authority = Buffer.from('localhost')
  const target = Buffer.from(path)
  return Buffer.concat([Buffer.from([0x82, 0x87, 0x04, target.length]), target, Buffer.from([0x01, authority.length]), authority])
}

/** A complete GET on `stream` (END_STREAM | END_HEADERS). */
export function get (stream: number, path: string): Buffer {
  return frame(frameType.headers, flag.endStream | flag.endHeaders, stream, getBlock(path))
}

/** A GET on `stream` whose headers do not end (no END_HEADERS): CONTINUATION frames must follow. */
export function unendedGet (stream: number, path: string): Buffer {
  return frame(frameType.headers, flag.endStream, stream, getBlock(path))
}

/** A CONTINUATION frame on `stream` with one more header, `x: aaaaaaaa` (a literal, not indexed), and no END_HEADERS. */
export function continuation (stream: number): Buffer {
  return frame(frameType.continuation, 0, stream, Buffer.from([0x00, 0x01, 0x78, 0x08, ...Buffer.from('aaaaaaaa')]))
}

/** RST_STREAM with CANCEL, what a browser sends for a request it no longer wants. */
export function cancel (stream: number): Buffer {
  const payload = Buffer.alloc(4)
  payload.writeUInt32BE(0x8)
  return frame(frameType.rstStream, 0, stream, payload)
}

/** WINDOW_UPDATE: `increment` more bytes the server may send on `stream` (0: the connection). */
export function windowUpdate (stream: number, increment: number): Buffer {
  const payload = Buffer.alloc(4)
  payload.writeUInt32BE(increment)
  return frame(frameType.windowUpdate, 0, stream, payload)
}

export interface RawHttp2 {
  /** Frames the server sent, counted by type. */
  readonly received: Map<number, number>
  /** Bytes of DATA the server sent, by stream; and the streams it ended (END_STREAM on DATA or HEADERS). */
  readonly data: Map<number, number>
  readonly ended: Set<number>
  /** Resolves when the server ended `stream`. */
  streamEnded (stream: number): Promise<void>
  /** The server's SETTINGS (not its acknowledgements), by identifier. */
  readonly settings: Map<number, number>
  /** The server's first GOAWAY. */
  goaway?: { lastStreamId: number, errorCode: number }
  /** Resolves when the connection is closed, by either side. */
  readonly closed: Promise<void>
  /** Writes `bytes`; false once the connection is closed, or the server has not read for 10 s. */
  send (bytes: Buffer): Promise<boolean>
  /** Resolves at the server's first GOAWAY. */
  goawayReceived (): Promise<void>
  /** Stops reading: the server's frames pile up in its own buffers. */
  stopReading (): void
  /** Reads again; a paused socket never sees the server's close. */
  resumeReading (): void
  destroy (): void
}

/** A TLS connection that negotiated `h2`, its preface sent. */
export async function rawHttp2 (port: number, ca: Buffer): Promise<RawHttp2> {
  const socket: TLSSocket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca, ALPNProtocols: ['h2'] })
  socket.on('error', () => {})
  // Not once(): it would reject on the socket's error (EPIPE, a reset), which a flood's end often is.
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  await once(socket, 'secureConnect')
  if (socket.alpnProtocol !== 'h2') throw new Error(`ALPN chose ${String(socket.alpnProtocol)}, not h2`)
  const received = new Map<number, number>()
  const serverSettings = new Map<number, number>()
  const data = new Map<number, number>()
  const ended = new Set<number>()
  const endings = new EventEmitter()
  const raw: RawHttp2 = {
    received,
    data,
    ended,
    streamEnded: async (stream) => { if (!ended.has(stream)) await once(endings, String(stream)) },
    settings: serverSettings,
    closed,
    async send (bytes) {
      if (socket.destroyed || !socket.writable) return false
      // A server that stops reading without closing would hold the writer forever.
      if (!socket.write(bytes)) return await within(10_000, Promise.race([once(socket, 'drain').catch(() => {}), closed]).then(() => true)) === true && !socket.destroyed
      return true
    },
    goawayReceived: async () => { if (raw.goaway === undefined) await once(endings, 'goaway') },
    stopReading: () => { socket.pause() },
    resumeReading: () => { socket.resume() },
    destroy: () => { socket.destroy() }
  }
  let pending = Buffer.alloc(0)
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk])
    while (pending.length >= 9) {
      const length = pending.readUIntBE(0, 3)
      if (pending.length < 9 + length) break
      const type = pending[3] as number
      const flags = pending[4] as number
      const stream = pending.readUInt32BE(5) & 0x7fffffff
      received.set(type, (received.get(type) ?? 0) + 1)
      if (type === frameType.data) data.set(stream, (data.get(stream) ?? 0) + length)
      if ((type === frameType.data || type === frameType.headers) && (flags & flag.endStream) !== 0) {
        ended.add(stream)
        endings.emit(String(stream))
      }
      if (type === frameType.settings && (flags & flag.ack) === 0) {
        for (let at = 9; at + 6 <= 9 + length; at += 6) serverSettings.set(pending.readUInt16BE(at), pending.readUInt32BE(at + 2))
      }
      if (type === frameType.goaway && raw.goaway === undefined) {
        raw.goaway = { lastStreamId: pending.readUInt32BE(9) & 0x7fffffff, errorCode: pending.readUInt32BE(13) }
        endings.emit('goaway')
      }
      pending = pending.subarray(9 + length)
    }
  })
  await raw.send(preface)
  return raw
}
