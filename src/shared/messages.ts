import type { MetricObjectWithValues, MetricValue } from 'prom-client'
import type { ConnectionLimits, LogLevel, SecurityHeaders } from './settings.js'
import type { TlsPolicy } from './tls-policy.js'

/**
 * IPC between the primary and its workers: typed `{ act }` objects, each routed
 * through one dispatch table, like Node's own cluster internals.
 */

/** What a worker needs to serve; sent with the shared listening handle. */
export interface WorkerSettings {
  readonly workerId: number
  readonly root: string
  /**
   * The first --cert/--key pair, or the development certificate; `undefined`
   * with --domain alone. PEM read by the primary: a worker that is not root
   * cannot read /etc/letsencrypt/live/NAME/privkey.pem (mode 0600).
   */
  readonly defaultPair: PemPair | undefined
  readonly logLevel: LogLevel
  readonly shutdownTimeoutMs: number
  readonly limits: ConnectionLimits
  /** Session-ticket keys, base64 (see ticket-keys.ts). */
  readonly ticketKeys: string
  /** Share TLS 1.2 session-ID sessions through the primary's cache. */
  readonly sessionCache: boolean
  /** Bound of the worker's set of known session IDs (the primary's cache size). */
  readonly sessionCacheSize: number
  readonly sessionTimeoutMs: number
  readonly tlsPolicy: TlsPolicy
  readonly http2: boolean
  readonly securityHeaders: SecurityHeaders
  readonly fileCacheBytes: number
  /** Serve symbolic links whose targets lie outside the root (--follow-symlinks). */
  readonly followSymlinks: boolean
  /** Files and folders never served, whatever the root and links say: certificates, keys, seraph's state. */
  readonly privatePaths: readonly string[]
  /** --proxy-protocol: the --trusted-proxy addresses and CIDR blocks; `undefined` when off. */
  readonly proxyProtocol: { readonly trusted: readonly string[] } | undefined
  /** A 'redirect-handle' message follows, with the --redirect-port socket. */
  readonly redirect: boolean
  /** --cert/--key pairs after the first, chosen by SNI; PEM, like `defaultPair`. */
  readonly extraPairs: readonly PemPair[]
  /** With --domain and no --cert: the first ACME certificate, not the files, is the default. */
  readonly acmeDefault: boolean
  /** The ACME certificates as they are now (a replacement worker starts with them). */
  readonly certificates: readonly CertificateEntry[]
  readonly challenges: readonly AcmeChallenge[]
}

/** A certificate and its private key, PEM. */
export interface PemPair {
  readonly cert: string
  readonly key: string
}

/** A certificate the primary obtained (or a temporary one), PEM; `names` are its SNI names. */
export interface CertificateEntry {
  readonly names: readonly string[]
  /** Hex serial of the leaf, for the logs and the tests. */
  readonly serial: string
  readonly cert: string
  readonly key: string
}

/** An ACME challenge a worker must answer, whichever worker the CA's connection reaches. */
export type AcmeChallenge =
  /** Answered at http://NAME/.well-known/acme-challenge/TOKEN on the --redirect-port listener. */
  | { readonly type: 'http-01', readonly token: string, readonly keyAuthorization: string }
  /** RFC 8737: this certificate, to connections for `name` that offer only the ALPN protocol acme-tls/1. */
  | { readonly type: 'tls-alpn-01', readonly name: string, readonly cert: string, readonly key: string }

/** A worker's metrics as prom-client's JSON, for the primary's AggregatorRegistry. */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[]

/** A worker's counters and state, as the admin listener reports them. */
export interface WorkerReport {
  /** Only when asked for: building them loads prom-client in the worker. */
  readonly metrics?: MetricsSnapshot
  readonly connectionsOpen: number
  readonly draining: boolean
}

/** `reload` keeps idle keep-alive connections until their next response or their timeout, so no request races the close. */
export type DrainMode = 'shutdown' | 'reload'

export type PrimaryMessage =
  | { readonly act: 'start', readonly settings: WorkerSettings }
  /** Comes with the plain-HTTP socket of --redirect-port; redirects go to `httpsPort`. */
  | { readonly act: 'redirect-handle', readonly httpsPort: number }
  | { readonly act: 'shutdown', readonly force: boolean, readonly mode: DrainMode }
  /** `metrics`: a scrape of /metrics; /healthz asks only for the state. */
  | { readonly act: 'report', readonly requestId: number, readonly metrics: boolean }
  /** The --cert/--key pairs the primary re-read (SIGUSR2): apply them to new handshakes. */
  | { readonly act: 'reload-certificate', readonly defaultPair: PemPair | undefined, readonly extraPairs: readonly PemPair[] }
  | { readonly act: 'ticket-keys', readonly keys: string }
  /** Session IDs the primary's cache holds (all at start, then each new one). */
  | { readonly act: 'session-ids', readonly ids: readonly string[] }
  /** The answer to 'session-get': base64 session data, or null. */
  | { readonly act: 'session', readonly requestId: number, readonly data: string | null }
  /** The answer to 'session-store': every worker (and, with --store, the fleet) has been told about the ID. */
  | { readonly act: 'session-stored', readonly requestId: number }
  /** Every ACME certificate now: replaces the previous set for new handshakes. */
  | { readonly act: 'certificates', readonly certificates: readonly CertificateEntry[] }
  /** Every pending ACME challenge now: replaces the previous set. */
  | { readonly act: 'acme-challenges', readonly version: number, readonly challenges: readonly AcmeChallenge[] }

export type WorkerMessage =
  /** The worker's message handler is installed: it can take the 'start' message now. */
  | { readonly act: 'hello' }
  | { readonly act: 'listening', readonly port: number }
  /** `listen`: listen(2) on the primary's socket failed (an operator's problem: address, permission). */
  | { readonly act: 'start-failed', readonly code: string | undefined, readonly message: string, readonly listen: boolean }
  | { readonly act: 'report', readonly requestId: number, readonly report: WorkerReport }
  | { readonly act: 'certificate-reloaded', readonly fingerprint256: string | null, readonly error: string | null }
  /** A new TLS 1.2 session to share (ids and data base64); answered by 'session-stored'. */
  | { readonly act: 'session-store', readonly requestId: number, readonly id: string, readonly data: string }
  | { readonly act: 'session-get', readonly requestId: number, readonly id: string }
  /** The worker answers the challenges of this 'acme-challenges' version now. */
  | { readonly act: 'acme-challenges-applied', readonly version: number }

type Acts<M extends { act: string }> = M['act']

/** One handler per message kind; the compiler checks that none is missing. */
export type DispatchTable<M extends { act: string }, H = undefined> = {
  readonly [A in Acts<M>]: (message: Extract<M, { act: A }>, handle: H) => void
}

/**
 * Routes `message` to its handler. Returns false for anything that is not one of
 * ours (pm2 and cluster internals share the channel), so callers can ignore it.
 */
export function dispatch<M extends { act: string }, H> (table: DispatchTable<M, H>, message: unknown, handle: H): boolean {
  if (typeof message !== 'object' || message === null) return false
  const act = (message as { act?: unknown }).act
  if (typeof act !== 'string' || !Object.hasOwn(table, act)) return false
  const handler = table[act as Acts<M>] as (message: M, handle: H) => void
  handler(message as M, handle)
  return true
}
