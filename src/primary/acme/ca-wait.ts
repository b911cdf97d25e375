import type { CaErrorResponse } from './ca-http.js'
import { retryMaxMs } from './renewal-schedule.js'

/**
 * The longest a CA's Retry-After is followed. Let's Encrypt asks for up to a
 * week after some rate limits; a day keeps a bogus or far-off date from
 * stopping renewals for good, and the CA's answer to an early try is just
 * another rate-limit error, logged.
 */
export const caWaitMaxMs = 86_400_000

const rateLimited = 'urn:ietf:params:acme:error:rateLimited'

/** How long the CA asked seraph to wait, from one error answer; undefined when it asked nothing. */
export interface CaWait {
  readonly ms: number
  readonly rateLimited: boolean
}

/** Retry-After in seconds or as an HTTP date (RFC 9110 §10.2.3), in ms from `now`; undefined when absent or unreadable. */
export function parseRetryAfter (value: unknown, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value
  if (typeof text !== 'string' || text.trim() === '') return undefined
  if (/^\s*\d+\s*$/.test(text)) return Number(text) * 1000
  const at = Date.parse(text)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

function problemType (data: unknown): unknown {
  if (typeof data === 'string') {
    try { return (JSON.parse(data) as { type?: unknown }).type } catch { return undefined }
  }
  return typeof data === 'object' && data !== null ? (data as { type?: unknown }).type : undefined
}

/**
 * What one error answer asks for: its Retry-After (RFC 8555 §6.6 sends one
 * with rateLimited and with 503), capped; a rateLimited problem without one
 * waits the longest back-off step (Let's Encrypt's limits are counted per
 * hour and more).
 */
export function caWait (response: CaErrorResponse, now = Date.now()): CaWait | undefined {
  const limited = problemType(response.data) === rateLimited
  const retryAfter = parseRetryAfter(response.headers['retry-after'], now)
  if (retryAfter === undefined && !limited) return undefined
  return { ms: Math.min(caWaitMaxMs, retryAfter ?? retryMaxMs), rateLimited: limited }
}

/** The longer of two waits (one order can get several error answers). */
export function longerWait (a: CaWait | undefined, b: CaWait | undefined): CaWait | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  return { ms: Math.max(a.ms, b.ms), rateLimited: a.rateLimited || b.rateLimited }
}
