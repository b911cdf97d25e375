import { createSecureContext, DEFAULT_CIPHERS, type SecureContextOptions } from 'node:tls'
import { SeraphError } from './errors.js'

export type TlsMinVersion = 'TLSv1.2' | 'TLSv1.3'

/** Protocol versions and ciphers of every TLS context seraph builds (--tls-ciphers, --tls-min-version). */
export interface TlsPolicy {
  /** OpenSSL cipher string: TLS 1.3 suites (`TLS_…`) and TLS 1.2 ciphers in one list, as Node takes it. */
  readonly ciphers: string
  readonly minVersion: TlsMinVersion
}

// Node's TLS 1.3 suites, in its order: all AEAD, nothing to remove.
const nodeTls13Suites = DEFAULT_CIPHERS.split(':').filter((name) => name.startsWith('TLS_'))

/**
 * Mozilla's "intermediate" TLS 1.2 ciphers (what Caddy ships) without its DHE
 * ones: ECDHE key exchange, AES-GCM or ChaCha20-Poly1305, for ECDSA and RSA
 * keys. Node's default would also accept CBC (LUCKY13), CCM and ARIA suites.
 */
export const intermediateTls12Ciphers = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305'
]

/** Key exchange groups, Mozilla intermediate's: Node's `auto` also offers P-521, X448 and finite-field groups. */
export const tlsCurves = 'X25519:P-256:P-384'

export const defaultTlsPolicy: TlsPolicy = {
  ciphers: [...nodeTls13Suites, ...intermediateTls12Ciphers].join(':'),
  minVersion: 'TLSv1.2'
}

/**
 * The options every context shares: the server's, each SNI and ACME context,
 * the TLS-ALPN-01 challenge socket's. A context created on its own (SNI)
 * does not inherit them from the server, so each gets them all.
 */
export function tlsPolicyOptions (policy: TlsPolicy = defaultTlsPolicy): SecureContextOptions {
  return {
    ciphers: policy.ciphers,
    minVersion: policy.minVersion,
    ecdhCurve: tlsCurves,
    // The client's order would let it pick the weakest suite we accept.
    honorCipherOrder: true
  }
}

/**
 * Checks --tls-ciphers in the primary, before any worker exists: a list
 * OpenSSL rejects would otherwise crash every worker at start-up. OpenSSL
 * silently drops names it does not know as long as one matches, so each name
 * is tried on its own too: a typo must not quietly shrink the list.
 */
export function tlsPolicy (flag: string, ciphers: string | undefined, minVersion: TlsMinVersion): TlsPolicy {
  if (ciphers === undefined) return { ...defaultTlsPolicy, minVersion }
  // OpenSSL also separates with commas and spaces; Node looks for TLS 1.3 suites between colons only.
  const names = ciphers.split(/[:,;\s]+/).filter((name) => name !== '')
  if (names.length === 0) throw new SeraphError('SERAPH_ERR_MISSING_VALUE', flag)
  // Operators (!, -, +, @…) only act on what the names select: skip them here.
  for (const name of names.filter((n) => /^[A-Za-z]/.test(n))) rejectIfNoMatch(flag, name, name)
  // Node turns TLS 1.3 off for a list without TLS 1.3 suites: keep its own then.
  const tls13 = names.some((name) => name.startsWith('TLS_')) ? [] : nodeTls13Suites
  const policy = { ciphers: [...tls13, ...names].join(':'), minVersion }
  rejectIfNoMatch(flag, ciphers, names.join(':'), policy)
  return policy
}

function rejectIfNoMatch (flag: string, shown: string, ciphers: string, policy?: TlsPolicy): void {
  try {
    createSecureContext(policy === undefined ? { ciphers } : tlsPolicyOptions(policy))
  } catch (err) {
    throw new SeraphError('SERAPH_ERR_TLS_CIPHERS_INVALID', flag, shown, (err as Error).message.replace(/^error:[^:]*:[^:]*::/, ''))
  }
}
