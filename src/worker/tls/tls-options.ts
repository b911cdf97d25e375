import type { SecureContextOptions, TlsOptions } from 'node:tls'
import { tlsPolicyOptions, type TlsPolicy } from '../../shared/tls-policy.js'

/** A worker's TLS material: read from the files by the worker itself. */
export interface TlsMaterial {
  readonly cert: Buffer
  readonly key: Buffer
  /** 48 bytes shared by every worker (see ticket-keys.ts); random per process when absent. */
  readonly ticketKeys?: Buffer
  readonly sessionTimeoutMs?: number
  /** --tls-ciphers and --tls-min-version; seraph's defaults when absent. */
  readonly policy?: TlsPolicy
}

/**
 * The TLS options of the HTTPS server, for its creation and for every later
 * `setSecureContext()`: that call rebuilds the context from what it is given,
 * and forgets ticket keys set since with `setTicketKeys()` unless passed again.
 */
export function secureContextOptions (tls: TlsMaterial): SecureContextOptions & Pick<TlsOptions, 'ticketKeys' | 'sessionTimeout'> {
  return {
    cert: tls.cert,
    key: tls.key,
    ...tlsPolicyOptions(tls.policy),
    // The same in every worker, so a session made by one resumes on another.
    sessionIdContext: 'seraph',
    ...(tls.ticketKeys === undefined ? {} : { ticketKeys: tls.ticketKeys }),
    ...(tls.sessionTimeoutMs === undefined ? {} : { sessionTimeout: Math.max(1, Math.round(tls.sessionTimeoutMs / 1000)) })
  }
}
