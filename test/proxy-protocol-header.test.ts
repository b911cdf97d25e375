import t from 'tap'
import { pino } from 'pino'
import { parseCommandLine } from '../src/config/config.js'
import { ipv6Text, maxV1Bytes, maxV2PayloadBytes, parseHeader, startsWithHeader } from '../src/worker/proxy-protocol/header.js'
import { ProxyProtocolReader } from '../src/worker/proxy-protocol/reader.js'

const signature = Buffer.from('0d0a0d0a000d0a515549540a', 'hex')

/** A v2 header: `command` 0 LOCAL / 1 PROXY, `family` the fam/proto byte, then the address block. */
export function v2 (command: number, family: number, block: Buffer, length = block.length): Buffer {
  const head = Buffer.alloc(4)
  head[0] = 0x20 | command
  head[1] = family
  head.writeUInt16BE(length, 2)
  return Buffer.concat([signature, head, block])
}

function tcp4 (source: string, sourcePort: number): Buffer {
  const block = Buffer.alloc(12)
  source.split('.').forEach((part, i) => { block[i] = Number(part) })
  Buffer.from([10, 0, 0, 1]).copy(block, 4)
  block.writeUInt16BE(sourcePort, 8)
  block.writeUInt16BE(443, 10)
  return block
}

const request = Buffer.from('\x16\x03\x01') // the start of a ClientHello after the header

t.test('v1: TCP4, TCP6 and UNKNOWN; the bytes after the header are left alone', async (t) => {
  const header = 'PROXY TCP4 192.0.2.7 10.0.0.1 51234 443\r\n'
  t.same(parseHeader(Buffer.concat([Buffer.from(header), request])), { kind: 'header', length: header.length, client: { address: '192.0.2.7', port: 51234 } })
  t.same(parseHeader(Buffer.from('PROXY TCP6 2001:db8::5 2001:db8::1 1 443\r\n')), { kind: 'header', length: 42, client: { address: '2001:db8::5', port: 1 } })
  t.same(parseHeader(Buffer.from('PROXY UNKNOWN\r\n')), { kind: 'header', length: 15, client: undefined })
  t.same(parseHeader(Buffer.from('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n')), { kind: 'header', length: 35, client: undefined })
})

t.test('v1: incomplete until CRLF, then strictly checked', async (t) => {
  for (let n = 1; n < 40; n++) t.same(parseHeader(Buffer.from('PROXY TCP4 192.0.2.7 10.0.0.1 51234 443\r\n').subarray(0, n)), { kind: 'incomplete' }, `${n} bytes`)
  const malformed = [
    'PROXY TCP4 192.0.2.7 10.0.0.1 51234\r\n', 'PROXY TCP4 2001:db8::1 10.0.0.1 1 2\r\n', 'PROXY TCP6 192.0.2.7 10.0.0.1 1 2\r\n',
    'PROXY TCP4 192.0.2.7 10.0.0.1 65536 443\r\n', 'PROXY TCP4 192.0.2.7 10.0.0.1 0443 443\r\n', 'PROXY TCP4  192.0.2.7 10.0.0.1 1 2\r\n',
    'PROXY UDP4 192.0.2.7 10.0.0.1 1 2\r\n', 'PROXY TCP4 192.0.2.256 10.0.0.1 1 2\r\n', 'PROXY TCP4 192.0.2.7 10.0.0.1 1 2 \r\n'
  ]
  for (const line of malformed) t.same(parseHeader(Buffer.from(line)), { kind: 'fault', reason: 'malformed' }, JSON.stringify(line))
  t.same(parseHeader(Buffer.from(`PROXY ${'x'.repeat(maxV1Bytes)}`)), { kind: 'fault', reason: 'too_long' }, 'no CRLF within 107 bytes')
  t.same(parseHeader(Buffer.from(`PROXY ${'x'.repeat(maxV1Bytes - 9)}`)), { kind: 'incomplete' }, 'under 107 bytes: may still end')
})

t.test('v2: PROXY over TCP4 and TCP6, LOCAL, UNSPEC; TLVs skipped', async (t) => {
  t.same(parseHeader(Buffer.concat([v2(1, 0x11, tcp4('198.51.100.9', 4000)), request])), { kind: 'header', length: 28, client: { address: '198.51.100.9', port: 4000 } })
  const six = Buffer.alloc(36)
  Buffer.from('20010db8000000000000000000000005', 'hex').copy(six, 0)
  six.writeUInt16BE(65535, 32)
  t.same(parseHeader(v2(1, 0x21, six)), { kind: 'header', length: 52, client: { address: '2001:db8::5', port: 65535 } })
  const withTlv = Buffer.concat([tcp4('203.0.113.1', 1), Buffer.from([0x04, 0x00, 0x02, 0xab, 0xcd])])
  t.same(parseHeader(v2(1, 0x11, withTlv)), { kind: 'header', length: 16 + 17, client: { address: '203.0.113.1', port: 1 } })
  t.same(parseHeader(v2(0, 0x00, Buffer.alloc(0))), { kind: 'header', length: 16, client: undefined }, 'LOCAL: the proxy speaks for itself')
  t.same(parseHeader(v2(0, 0x11, tcp4('203.0.113.1', 1))), { kind: 'header', length: 28, client: undefined }, 'LOCAL ignores the addresses')
  t.same(parseHeader(v2(1, 0x00, Buffer.alloc(0))), { kind: 'header', length: 16, client: undefined }, 'UNSPEC')
})

t.test('v2: incomplete, bad version or command, short blocks, a huge length', async (t) => {
  const whole = v2(1, 0x11, tcp4('198.51.100.9', 4000))
  for (let n = 1; n < whole.length; n++) t.same(parseHeader(whole.subarray(0, n)), { kind: 'incomplete' }, `${n} bytes`)
  const fault = (reason: string) => ({ kind: 'fault', reason })
  t.same(parseHeader(Buffer.concat([signature, Buffer.from([0x11])])), fault('malformed'), 'version 1 in a v2 signature, refused at once')
  t.same(parseHeader(Buffer.concat([signature, Buffer.from([0x22, 0x11, 0, 0])])), fault('malformed'), 'command 2')
  t.same(parseHeader(v2(1, 0x11, Buffer.alloc(8))), fault('malformed'), 'TCP4 with 8 address bytes')
  t.same(parseHeader(v2(1, 0x21, Buffer.alloc(12))), fault('malformed'), 'TCP6 with 12 address bytes')
  t.same(parseHeader(v2(1, 0x12, tcp4('1.2.3.4', 1))), fault('malformed'), 'UDP on a TCP connection')
  t.same(parseHeader(v2(1, 0x41, Buffer.alloc(12))), fault('malformed'), 'unknown family')
  t.same(parseHeader(v2(1, 0x11, Buffer.alloc(0), 65535)), fault('too_long'), 'a huge length is refused from the 16 header bytes')
  t.same(parseHeader(v2(1, 0x11, Buffer.alloc(0), maxV2PayloadBytes)), { kind: 'incomplete' }, 'the cap itself is allowed')
})

t.test('a trusted connection without a header', async (t) => {
  for (const start of ['\x16\x03\x01', 'GET / HTTP/1.1\r\n', 'PUT', '\r\n\r\nX']) t.same(parseHeader(Buffer.from(start, 'latin1')), { kind: 'fault', reason: 'missing' }, JSON.stringify(start))
})

t.test('an untrusted connection: a header is told from TLS and HTTP at once', async (t) => {
  t.equal(startsWithHeader(Buffer.from([0x16])), false, 'TLS at the first byte')
  t.equal(startsWithHeader(Buffer.from('PO')), false, 'POST at the second')
  t.equal(startsWithHeader(Buffer.from('PROXY')), undefined)
  t.equal(startsWithHeader(Buffer.from('PROXY ')), true)
  t.equal(startsWithHeader(signature.subarray(0, 11)), undefined)
  t.equal(startsWithHeader(signature), true)
  t.equal(startsWithHeader(Buffer.alloc(0)), undefined)
})

t.test('IPv6 text is RFC 5952', async (t) => {
  const text = (hex: string): string => ipv6Text(Buffer.from(hex, 'hex'))
  t.equal(text('00000000000000000000000000000001'), '::1')
  t.equal(text('20010db8000000010000000000000001'), '2001:db8:0:1::1')
  t.equal(text('20010db8000100000001000000000001'), '2001:db8:1:0:1::1', 'the longer run wins')
  t.equal(text('00000000000000000000ffffc0000207'), '::ffff:192.0.2.7')
  t.equal(text('20010db8000100010001000100010001'), '2001:db8:1:1:1:1:1:1')
})

t.test('the trust decision: CIDR blocks, single addresses, IPv4-mapped peers', async (t) => {
  const reader = new ProxyProtocolReader({ trusted: ['127.0.0.1/32', '10.0.0.0/8', '2001:db8::/32', '192.0.2.9'], timeoutMs: 1000, logger: pino({ level: 'silent' }), listener: 'https' })
  t.ok(reader.isTrusted('127.0.0.1'))
  t.notOk(reader.isTrusted('127.0.0.2'))
  t.ok(reader.isTrusted('10.200.1.1'))
  t.ok(reader.isTrusted('::ffff:10.1.2.3'), 'IPv4-mapped')
  t.ok(reader.isTrusted('2001:db8:ffff::1'))
  t.notOk(reader.isTrusted('2001:db9::1'))
  t.ok(reader.isTrusted('192.0.2.9'))
  t.notOk(reader.isTrusted('192.0.2.10'))
  t.notOk(reader.isTrusted(undefined))
})

t.test('--proxy-protocol and --trusted-proxy: validated, with the variables', async (t) => {
  const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
    const request = parseCommandLine(argv, env)
    return request.action === 'serve' ? request.config.proxyProtocol : undefined
  }
  t.equal(parse([]), undefined, 'off by default')
  t.same(parse(['--proxy-protocol', '--trusted-proxy', '10.0.0.0/8', '--trusted-proxy', '::1']), { trusted: ['10.0.0.0/8', '::1'] })
  t.same(parse([], { SERAPH_PROXY_PROTOCOL: 'yes', SERAPH_TRUSTED_PROXY: '10.0.0.0/8, 192.0.2.1' }), { trusted: ['10.0.0.0/8', '192.0.2.1'] })
  for (const bad of ['10.0.0.0/33', 'example.org', '10.0.0/8', '::1/129', '10.0.0.0/', '']) {
    t.throws(() => parse(['--proxy-protocol', '--trusted-proxy', bad]), { code: 'SERAPH_ERR_TRUSTED_PROXY_INVALID', message: /^--trusted-proxy ".*": not an IP address or CIDR block/ }, JSON.stringify(bad))
  }
  t.throws(() => parse([], { SERAPH_PROXY_PROTOCOL: '1', SERAPH_TRUSTED_PROXY: '10.0.0.0/8,nope' }), { code: 'SERAPH_ERR_TRUSTED_PROXY_INVALID', message: /SERAPH_TRUSTED_PROXY \(--trusted-proxy\) "nope"/ })
  t.throws(() => parse(['--proxy-protocol']), { code: 'SERAPH_ERR_PROXY_PROTOCOL_INCOMPLETE', message: /^--proxy-protocol needs --trusted-proxy/ })
  t.throws(() => parse(['--trusted-proxy', '10.0.0.0/8']), { code: 'SERAPH_ERR_PROXY_PROTOCOL_INCOMPLETE', message: /^--trusted-proxy needs --proxy-protocol/ })
})
