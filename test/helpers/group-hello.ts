import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'

/** IANA TLS Supported Groups codepoints the tests use. */
export const groupIds = { X25519MLKEM768: 0x11ec, X25519: 0x001d, P256: 0x0017, P384: 0x0018 } as const

/** The server's first answer to {@link offerGroupsOnly}. */
export type GroupAnswer =
  | { readonly kind: 'alert', readonly description: number }
  /** A HelloRetryRequest (RFC 8446 §4.1.4) asking for a key share of `group`. */
  | { readonly kind: 'retry', readonly group: number }
  | { readonly kind: 'other', readonly firstByte: number }

const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff])
const vector16 = (body: Buffer): Buffer => Buffer.concat([u16(body.length), body])
const extension = (type: number, body: Buffer): Buffer => Buffer.concat([u16(type), vector16(body)])
// SHA-256 of "HelloRetryRequest": the random of a ServerHello that is one (RFC 8446 §4.1.3).
const retryRandom = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex')

/**
 * Sends a TLS 1.3 ClientHello by hand whose supported_groups are `groups`
 * alone, with no key share at all, and reads the server's first record.
 * A server that has one of the groups must ask for its key share (a
 * HelloRetryRequest naming it); one that has none must refuse
 * (handshake_failure, alert 40). No key needs computing either way, so this
 * works where the client's own OpenSSL does not know the group (Node 20
 * cannot offer X25519MLKEM768 with its own TLS client).
 */
export function offerGroupsOnly (port: number, groups: readonly number[], servername = 'localhost'): Promise<GroupAnswer> {
  const name = Buffer.from(servername)
  const extensions = Buffer.concat([
    extension(0x0000, vector16(Buffer.concat([Buffer.from([0]), vector16(name)]))), // server_name
    extension(0x000a, vector16(Buffer.concat(groups.map(u16)))), // supported_groups
    extension(0x000d, vector16(Buffer.concat([0x0403, 0x0804, 0x0401, 0x0503, 0x0805].map(u16)))), // signature_algorithms
    extension(0x002b, Buffer.from([2, 0x03, 0x04])), // supported_versions: TLS 1.3
    extension(0x002d, Buffer.from([1, 1])), // psk_key_exchange_modes: psk_dhe_ke
    extension(0x0033, vector16(Buffer.alloc(0))) // key_share: none
  ])
  const body = Buffer.concat([
    u16(0x0303), randomBytes(32),
    Buffer.from([32]), randomBytes(32), // legacy_session_id (middlebox compatibility)
    vector16(Buffer.concat([0x1301, 0x1302, 0x1303].map(u16))),
    Buffer.from([1, 0]), // compression: null
    vector16(extensions)
  ])
  const handshake = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 0xff]), body])
  const record = Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), vector16(handshake)])
  return new Promise((resolve, reject) => {
    let data = Buffer.alloc(0)
    const socket = connect(port, '127.0.0.1', () => socket.write(record))
    const timer = setTimeout(() => socket.destroy(new Error('no answer to the ClientHello within 5 s')), 5000)
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk])
      if (data.length < 5 || data.length < 5 + data.readUInt16BE(3)) return
      clearTimeout(timer)
      socket.destroy()
      resolve(readAnswer(data))
    })
    socket.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    socket.once('close', () => {
      clearTimeout(timer)
      reject(new Error(`connection closed after ${data.length} bytes`))
    })
  })
}

function readAnswer (data: Buffer): GroupAnswer {
  if (data[0] === 0x15) return { kind: 'alert', description: data[6] as number }
  if (data[0] !== 0x16 || data[5] !== 0x02) return { kind: 'other', firstByte: data[0] as number }
  let at = 5 + 4 + 2 // record header, handshake header, legacy_version
  if (!data.subarray(at, at + 32).equals(retryRandom)) return { kind: 'other', firstByte: data[0] }
  at += 32
  at += 1 + (data[at] as number) // legacy_session_id_echo
  at += 2 + 1 // cipher_suite, compression
  const end = at + 2 + data.readUInt16BE(at)
  for (at += 2; at + 4 <= end; at += 4 + data.readUInt16BE(at + 2)) {
    if (data.readUInt16BE(at) === 0x0033) return { kind: 'retry', group: data.readUInt16BE(at + 4) }
  }
  return { kind: 'other', firstByte: data[0] }
}
