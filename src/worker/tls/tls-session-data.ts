/**
 * The protocol version inside a serialized OpenSSL session (what Node hands to
 * 'newSession'): `SEQUENCE { version INTEGER, sslVersion INTEGER, … }`
 * (OpenSSL's ssl/ssl_asn1.c). Node emits 'newSession' for TLS 1.3 tickets too,
 * but those resume statelessly, so sharing them would only cost IPC. Returns
 * undefined when the bytes do not look as expected.
 */
export function sessionProtocolVersion (data: Buffer): number | undefined {
  let offset = 0
  if (data[offset++] !== 0x30) return undefined
  const first = data[offset++]
  if (first === undefined) return undefined
  // DER length: short form, or 0x8N followed by N length bytes.
  if (first & 0x80) offset += first & 0x7f
  // version INTEGER (always 1)
  if (data[offset] !== 0x02) return undefined
  offset += 2 + (data[offset + 1] ?? 0)
  // sslVersion INTEGER, e.g. 0x0303 (TLS 1.2) or 0x0304 (TLS 1.3)
  if (data[offset] !== 0x02) return undefined
  const length = data[offset + 1] ?? 0
  if (length < 1 || length > 4 || offset + 2 + length > data.length) return undefined
  return data.readUIntBE(offset + 2, length)
}

export const tls13 = 0x0304
