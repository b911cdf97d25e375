import { randomBytes } from 'node:crypto'
import type { Metrics } from './admin-metrics.js'
import { sendAndWait, v1Header, v2Header, v2Tcp } from './proxy-client.js'

export interface ProxyAttack {
  readonly name: string
  /** The close reason it must be counted under, with cause `proxy_protocol`. */
  readonly reason: string
  /** Sends it to 127.0.0.1:`port` (the trusted proxy's address unless the attack says otherwise). */
  run (port: number): Promise<{ answered: number, ms: number }>
}

/** A well-formed v2 PROXY header for a TCP4 client at 198.51.100.9. */
export const v2Full = v2Tcp('198.51.100.9', 4000)

/**
 * Connections a PROXY protocol reader must close, for a server that trusts
 * only 127.0.0.1 (127.0.0.2 is an untrusted client: all of 127/8 is loopback
 * on Linux) and whose --handshake-timeout is well below 2.7 s (the slow header).
 */
export const proxyAttacks: readonly ProxyAttack[] = [
  { name: 'a header from an untrusted address', reason: 'untrusted', run: (p) => sendAndWait(p, [v1Header('192.0.2.1', 1)], { localAddress: '127.0.0.2' }) },
  { name: 'a v2 header from an untrusted address', reason: 'untrusted', run: (p) => sendAndWait(p, [v2Full], { localAddress: '127.0.0.2' }) },
  { name: 'no header from the proxy', reason: 'missing', run: (p) => sendAndWait(p, [Buffer.from('\x16\x03\x01\x00\x05hello', 'latin1')]) },
  { name: 'garbage', reason: 'missing', run: (p) => sendAndWait(p, [Buffer.concat([Buffer.from([0x00]), randomBytes(200)])]) },
  { name: 'a garbage v1 header', reason: 'malformed', run: (p) => sendAndWait(p, [Buffer.from('PROXY TCP4 999.1.1.1 1.1.1.1 1 2\r\n')]) },
  { name: 'a v1 header without its end', reason: 'too_long', run: (p) => sendAndWait(p, [Buffer.from(`PROXY TCP4 ${'1'.repeat(200)}`)]) },
  { name: 'a v2 header with a bad version', reason: 'malformed', run: (p) => sendAndWait(p, [Buffer.concat([v2Full.subarray(0, 12), Buffer.from([0x31]), randomBytes(30)])]) },
  { name: 'a truncated v2 header', reason: 'truncated', run: (p) => sendAndWait(p, [v2Full.subarray(0, 20)], { end: true }) },
  { name: 'a v2 header with a huge length', reason: 'too_long', run: (p) => sendAndWait(p, [v2Header(1, 0x11, randomBytes(64), 65535)]) },
  { name: 'a slow header', reason: 'timeout', run: (p) => sendAndWait(p, [...v2Full].map((byte) => Buffer.from([byte])), { delayMs: 100 }) }
]

/** Close counts by `cause: reason` that changed between two scrapes; only `cause` when given. */
export function closes (after: Metrics, before: Metrics, cause?: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [series, value] of after) {
    if (!series.startsWith('seraph_connections_closed_total{') || !series.includes('worker="all"')) continue
    const seriesCause = /cause="([^"]*)"/.exec(series)?.[1] ?? ''
    if (cause !== undefined && seriesCause !== cause) continue
    const d = value - (before.get(series) ?? 0)
    if (d !== 0) out[`${seriesCause}: ${/reason="([^"]*)"/.exec(series)?.[1] ?? ''}`] = d
  }
  return out
}
