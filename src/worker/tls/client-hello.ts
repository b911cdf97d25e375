/** What the TLS-ALPN-01 responder needs from a ClientHello. */
export interface ClientHelloInfo {
  readonly servername: string | undefined
  readonly alpn: readonly string[]
}

/** The longest first TLS record: 5 header bytes and 2^14 bytes of payload. */
export const maxRecordBytes = 5 + 16_384

/** True once `data` holds the whole first TLS record, or can never be a TLS handshake record. */
export function recordComplete (data: Buffer): boolean {
  if (data.length >= 1 && data[0] !== 0x16) return true
  if (data.length < 5) return false
  return data.length >= Math.min(maxRecordBytes, 5 + data.readUInt16BE(3))
}

/**
 * Reads the server name and ALPN protocols from the ClientHello in the first
 * TLS record (RFC 8446 §4.1.2, RFC 6066 §3, RFC 7301 §3.1). Anything else,
 * or a truncated hello, gives `undefined`: such a connection is treated as an
 * ordinary one and OpenSSL judges it.
 */
export function parseClientHello (data: Buffer): ClientHelloInfo | undefined {
  try {
    if (data[0] !== 0x16 || data[5] !== 0x01) return undefined
    const end = Math.min(data.length, 5 + data.readUInt16BE(3))
    let at = 9 + 2 + 32 // record + handshake headers, legacy_version, random
    at += 1 + (data[at] as number) // legacy_session_id
    at += 2 + data.readUInt16BE(at) // cipher_suites
    at += 1 + (data[at] as number) // legacy_compression_methods
    const extensionsEnd = Math.min(end, at + 2 + data.readUInt16BE(at))
    at += 2
    let servername: string | undefined
    const alpn: string[] = []
    while (at + 4 <= extensionsEnd) {
      const type = data.readUInt16BE(at)
      const length = data.readUInt16BE(at + 2)
      const body = at + 4
      if (body + length > extensionsEnd) return undefined
      if (type === 0 && length >= 5 && data[body + 2] === 0) {
        servername = data.toString('latin1', body + 5, body + 5 + data.readUInt16BE(body + 3)).toLowerCase()
      } else if (type === 16) {
        for (let p = body + 2; p < body + length;) {
          const size = data[p] as number
          alpn.push(data.toString('latin1', p + 1, p + 1 + size))
          p += 1 + size
        }
      }
      at = body + length
    }
    return { servername, alpn }
  } catch {
    return undefined
  }
}
