/**
 * The serving settings both processes speak of: src/config validates them
 * from flags and variables, the primary sends them in the worker's 'start'
 * message (messages.ts), and the worker applies them. Their defaults live
 * here once, for the option parser, its help text and the worker alike.
 */

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = typeof logLevels[number]

/** Per-worker protections against slow and idle clients; see docs/Reference/limits-and-timeouts.md. */
export interface ConnectionLimits {
  readonly handshakeTimeoutMs: number
  readonly headersTimeoutMs: number
  readonly requestTimeoutMs: number
  readonly keepAliveTimeoutMs: number
  readonly socketTimeoutMs: number
  readonly maxConnections: number
}

/** The defaults of --handshake-timeout … --max-connections. */
export const defaultLimits: ConnectionLimits = {
  handshakeTimeoutMs: 10_000,
  headersTimeoutMs: 15_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 10_000,
  socketTimeoutMs: 60_000,
  maxConnections: 4096
}

/**
 * How often Node checks header and request deadlines: a quarter of the
 * headers timeout, at most a second, so a deadline is never overshot by much.
 */
export function deadlineCheckIntervalMs (limits: ConnectionLimits): number {
  return Math.max(25, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4)))
}

export interface SecurityHeaders {
  /** `Strict-Transport-Security` max-age; 0 sends none (the development certificate). */
  readonly hstsMaxAgeSeconds: number
  /** A `Content-Security-Policy` value, or false for none. */
  readonly contentSecurityPolicy: string | false
}

/** What the sample blog needs and nothing more: no inline script or style, nothing from elsewhere. */
export const defaultContentSecurityPolicy =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; font-src 'self'; " +
  "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
