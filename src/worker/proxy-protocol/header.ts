import { isIPv4, isIPv6 } from 'node:net'

/** The client's address as the proxy saw it. */
export interface ClientAddress {
  readonly address: string
  readonly port: number
}

/** Why a connection's PROXY header was refused; the `reason` label of the `proxy_protocol` close cause. */
export type HeaderFault = 'malformed' | 'too_long' | 'untrusted' | 'missing'

export type HeaderVerdict =
  /** More bytes are needed before anything can be said. */
  | { readonly kind: 'incomplete' }
  /** A valid header of `length` bytes; `client` is absent for LOCAL, UNKNOWN and non-IP families (the proxy's own address stays). */
  | { readonly kind: 'header', readonly length: number, readonly client: ClientAddress | undefined }
  | { readonly kind: 'fault', readonly reason: HeaderFault }

/** The longest v1 header, CRLF included (the spec's own bound). */
export const maxV1Bytes = 107
/**
 * The largest v2 address block plus TLVs we accept. HAProxy's send-proxy-v2
 * sends 12 or 36 address bytes and a few small TLVs at most; the field itself
 * allows 65535, which would let a peer make us buffer 64 KiB per connection.
 */
export const maxV2PayloadBytes = 1024

const v1Prefix = Buffer.from('PROXY ', 'latin1')
const v2Signature = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a])
const incomplete = { kind: 'incomplete' } as const
const fault = (reason: HeaderFault): HeaderVerdict => ({ kind: 'fault', reason })

// True while `data` is a prefix of `magic` or starts with it.
function startsLike (data: Buffer, magic: Buffer): boolean {
  const n = Math.min(data.length, magic.length)
  return data.subarray(0, n).equals(magic.subarray(0, n))
}

/**
 * Whether a connection's first bytes are a PROXY header (v1 or v2): true as
 * soon as the v1 prefix or the v2 signature is complete, `undefined` while it
 * cannot be told yet. A TLS record (0x16) or an HTTP method is told at its
 * first or second byte, so a direct client is never held back.
 */
export function startsWithHeader (data: Buffer): boolean | undefined {
  if (data.length === 0) return undefined
  const v1 = startsLike(data, v1Prefix)
  const v2 = startsLike(data, v2Signature)
  if (!v1 && !v2) return false
  if ((v1 && data.length >= v1Prefix.length) || (v2 && data.length >= v2Signature.length)) return true
  return undefined
}

/** Parses the PROXY header that must start `data` (a trusted proxy's connection). */
export function parseHeader (data: Buffer): HeaderVerdict {
  if (data.length === 0) return incomplete
  if (startsLike(data, v2Signature) && data[0] === 0x0d) {
    return data.length < v2Signature.length ? incomplete : parseV2(data)
  }
  if (startsLike(data, v1Prefix)) return parseV1(data)
  return fault('missing')
}

function parseV1 (data: Buffer): HeaderVerdict {
  const end = data.subarray(0, maxV1Bytes).indexOf('\r\n', 0, 'latin1')
  if (end === -1) return data.length >= maxV1Bytes ? fault('too_long') : incomplete
  const line = data.toString('latin1', 0, end)
  const length = end + 2
  if (line === 'PROXY UNKNOWN' || line.startsWith('PROXY UNKNOWN ')) return { kind: 'header', length, client: undefined }
  const fields = line.split(' ')
  if (fields.length !== 6) return fault('malformed')
  const [, family, source, destination, sourcePort, destinationPort] = fields as [string, string, string, string, string, string]
  const isFamily = family === 'TCP4' ? isIPv4 : family === 'TCP6' ? isIPv6 : undefined
  if (isFamily === undefined || !isFamily(source) || !isFamily(destination)) return fault('malformed')
  const port = v1Port(sourcePort)
  if (port === undefined || v1Port(destinationPort) === undefined) return fault('malformed')
  return { kind: 'header', length, client: { address: source, port } }
}

function v1Port (text: string): number | undefined {
  if (!/^(?:0|[1-9]\d{0,4})$/.test(text)) return undefined
  const port = Number(text)
  return port <= 65535 ? port : undefined
}

function parseV2 (data: Buffer): HeaderVerdict {
  if (data.length < 16) {
    // The version and command are known early: refuse garbage at once.
    return data.length > 12 && !validVersionCommand(data[12] as number) ? fault('malformed') : incomplete
  }
  const versionCommand = data[12] as number
  const familyProtocol = data[13] as number
  const payload = data.readUInt16BE(14)
  if (!validVersionCommand(versionCommand)) return fault('malformed')
  if (payload > maxV2PayloadBytes) return fault('too_long')
  const length = 16 + payload
  if (data.length < length) return incomplete
  // LOCAL: the proxy speaks for itself (a health check); its address stays.
  if ((versionCommand & 0x0f) === 0x0) return { kind: 'header', length, client: undefined }
  const family = familyProtocol >> 4
  const protocol = familyProtocol & 0x0f
  // UNSPEC and UNIX sockets carry no IP address: keep the proxy's (as the spec asks).
  if (family === 0x0 || family === 0x3) return protocol <= 0x2 ? { kind: 'header', length, client: undefined } : fault('malformed')
  if (protocol !== 0x1) return fault('malformed') // only STREAM makes sense on a TCP connection
  if (family === 0x1) {
    if (payload < 12) return fault('malformed')
    return { kind: 'header', length, client: { address: `${data[16]}.${data[17]}.${data[18]}.${data[19]}`, port: data.readUInt16BE(24) } }
  }
  if (family === 0x2) {
    if (payload < 36) return fault('malformed')
    return { kind: 'header', length, client: { address: ipv6Text(data.subarray(16, 32)), port: data.readUInt16BE(48) } }
  }
  return fault('malformed')
}

// Version 2; command LOCAL (0) or PROXY (1).
function validVersionCommand (byte: number): boolean {
  return byte === 0x20 || byte === 0x21
}

/** RFC 5952 text of 16 address bytes: lowercase, the longest run of zero groups as `::`. */
export function ipv6Text (bytes: Buffer): string {
  const groups: number[] = []
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i))
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`
  }
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) { bestStart = i; bestLength = j - i }
    i = j
  }
  const hex = groups.map((g) => g.toString(16))
  if (bestStart === -1) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`
}
