import { createSecureContext, DEFAULT_CIPHERS, type SecureContextOptions } from 'node:tls'
import { SeraphError } from './errors.js'
import { defaultTlsGroups } from './tls-groups.js'

export type TlsMinVersion = 'TLSv1.2' | 'TLSv1.3'

/** Protocol versions, ciphers and key exchange groups of every TLS context seraph builds (--tls-ciphers, --tls-min-version, --tls-groups). */
export interface TlsPolicy {
  /** OpenSSL cipher string: TLS 1.3 suites (`TLS_…`) and TLS 1.2 ciphers in one list, as Node takes it. */
  readonly ciphers: string
  readonly minVersion: TlsMinVersion
  /** Key exchange groups, the server's preference first (tls-groups.ts). */
  readonly groups: readonly string[]
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

export const defaultTlsPolicy: TlsPolicy = {
  ciphers: [...nodeTls13Suites, ...intermediateTls12Ciphers].join(':'),
  minVersion: 'TLSv1.2',
  groups: defaultTlsGroups()
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
    // Groups are the exception to "each context its own": when SNI switches
    // contexts OpenSSL keeps the first one's groups (SSL_set_SSL_CTX does not
    // copy them; an SNI context without them changes nothing, tested), so
    // the server's context decides. Set everywhere all the same.
    // A TLS 1.3 server picks among the groups the client sent a key share
    // for before it asks for another (OpenSSL avoids the extra round trip),
    // so a browser that shares X25519MLKEM768 and X25519 gets the hybrid one.
    ecdhCurve: policy.groups.join(':'),
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
export function tlsPolicy (flag: string, ciphers: string | undefined, minVersion: TlsMinVersion, groups: readonly string[] = defaultTlsPolicy.groups): TlsPolicy {
  if (ciphers === undefined) return { ...defaultTlsPolicy, minVersion, groups }
  // OpenSSL also separates with commas and spaces; Node looks for TLS 1.3 suites between colons only.
  const names = ciphers.split(/[:,;\s]+/).filter((name) => name !== '')
  if (names.length === 0) throw new SeraphError('SERAPH_ERR_MISSING_VALUE', flag)
  // Operators (!, -, +, @…) only act on what the names select: skip them here.
  for (const name of names.filter((n) => /^[A-Za-z]/.test(n))) rejectIfNoMatch(flag, name, name)
  // Node turns TLS 1.3 off for a list without TLS 1.3 suites: keep its own then.
  const tls13 = names.some((name) => name.startsWith('TLS_')) ? [] : nodeTls13Suites
  const policy = { ciphers: [...tls13, ...names].join(':'), minVersion, groups }
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
