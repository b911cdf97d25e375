import type { X509Certificate } from 'node:crypto'
import { parseRetryAfter } from './ca-wait.js'

/**
 * ACME Renewal Information (RFC 9773). acme-client 5.4 does not implement
 * it, so seraph does the two small parts it needs: the certificate ID and
 * the unauthenticated GET of `<renewalInfo>/<certID>`.
 */

/** How often to ask again when the CA does not say (RFC 9773 §4.3.3 suggests 6 hours). */
export const ariPollDefaultMs = 6 * 3_600_000
/** Bounds on the CA's Retry-After for the next poll: not hammering it, not missing a moved window for days. */
export const ariPollMinMs = 60_000
export const ariPollMaxMs = 86_400_000

export interface SuggestedWindow {
  readonly start: number
  readonly end: number
}

const base64url = (bytes: Buffer): string => bytes.toString('base64url')

/** base64url(keyIdentifier of the Authority Key Identifier) '.' base64url(serial's DER content octets): RFC 9773 §4.1. */
export function certificateId (leaf: X509Certificate): string | undefined {
  const keyId = authorityKeyId(leaf.raw)
  if (keyId === undefined) return undefined
  return `${base64url(keyId)}.${base64url(serialOctets(leaf.serialNumber))}`
}

/** The serial's INTEGER content octets: Node gives the value in hex without its sign octet, which DER has when the top bit is set. */
export function serialOctets (serialHex: string): Buffer {
  const even = serialHex.length % 2 === 1 ? `0${serialHex}` : serialHex
  const bytes = Buffer.from(even, 'hex')
  return (bytes[0] ?? 0) >= 0x80 ? Buffer.concat([Buffer.of(0), bytes]) : bytes
}

/** One DER element at `offset`: its tag, where its content starts and ends. */
function element (der: Buffer, offset: number): { tag: number, start: number, end: number } | undefined {
  const tag = der[offset]
  let length = der[offset + 1]
  if (tag === undefined || length === undefined) return undefined
  let start = offset + 2
  if (length >= 0x80) {
    const count = length & 0x7f
    if (count === 0 || count > 4 || start + count > der.length) return undefined
    length = 0
    for (let i = 0; i < count; i++) length = length * 256 + (der[start + i] as number)
    start += count
  }
  return start + length > der.length ? undefined : { tag, start, end: start + length }
}

// OID 2.5.29.35 (authorityKeyIdentifier), DER-encoded with its tag and length.
const akiOid = Buffer.from('0603551d23', 'hex')

/** The keyIdentifier ([0] of the AuthorityKeyIdentifier extension), from the certificate's DER. */
export function authorityKeyId (der: Buffer): Buffer | undefined {
  const at = der.indexOf(akiOid)
  if (at < 0) return undefined
  let next = element(der, at + akiOid.length)
  if (next?.tag === 0x01) next = element(der, next.end) // critical BOOLEAN
  if (next?.tag !== 0x04) return undefined
  const sequence = element(der, next.start)
  if (sequence?.tag !== 0x30) return undefined
  const keyId = element(der, sequence.start)
  return keyId?.tag === 0x80 && keyId.end <= sequence.end ? der.subarray(keyId.start, keyId.end) : undefined
}

/** The suggestedWindow of a renewalInfo answer; undefined when it is not one (start before end, both dates). */
export function parseRenewalInfo (data: unknown): SuggestedWindow | undefined {
  const window = (typeof data === 'object' && data !== null ? data as { suggestedWindow?: { start?: unknown, end?: unknown } } : {}).suggestedWindow
  if (typeof window?.start !== 'string' || typeof window.end !== 'string') return undefined
  const start = Date.parse(window.start)
  const end = Date.parse(window.end)
  return Number.isNaN(start) || Number.isNaN(end) || end <= start ? undefined : { start, end }
}

/** The next poll of renewalInfo: the CA's Retry-After, bounded, else 6 hours. */
export function ariPollDelay (retryAfter: unknown, now = Date.now()): number {
  const asked = parseRetryAfter(retryAfter, now)
  return Math.min(ariPollMaxMs, Math.max(ariPollMinMs, asked ?? ariPollDefaultMs))
}

export type NextStep = { readonly action: 'renew' | 'check', readonly at: number }

/**
 * What to do next for one certificate. With a window: renew at a uniformly
 * random moment inside it (RFC 9773 §4.2: spreads the CA's load; a window
 * already past means now), unless the next poll comes first, since the CA
 * may move the window earlier (a revocation). Without one: a third of the
 * lifetime left, the fallback.
 */
export function nextStep (now: number, fallbackAt: number, window: SuggestedWindow | undefined, pollDelayMs: number, random = Math.random): NextStep {
  if (window === undefined) return { action: 'renew', at: fallbackAt }
  const at = window.start + random() * (window.end - window.start)
  if (at <= now) return { action: 'renew', at: now }
  return at <= now + pollDelayMs ? { action: 'renew', at } : { action: 'check', at: now + pollDelayMs }
}
