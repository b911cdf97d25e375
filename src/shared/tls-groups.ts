import { createSecureContext } from 'node:tls'
import { SeraphError } from './errors.js'

/** Hybrid post-quantum key exchange (ML-KEM-768 with X25519): what Chrome, Firefox and Safari offer first. */
export const hybridGroup = 'X25519MLKEM768'

/** Mozilla intermediate's groups, after the hybrid one: Node's `auto` also offers P-521, X448 and finite-field groups. */
const classicGroups = ['X25519', 'P-256', 'P-384']

/**
 * The TLS groups a --tls-groups error can name as offered, by the names
 * OpenSSL takes (IANA's TLS Supported Groups, RFC 8422 curves, RFC 7919
 * groups, ML-KEM since OpenSSL 3.5). Node has no binding for OpenSSL's own
 * list (SSL_CTX_get0_implemented_groups, OpenSSL 3.5), so each is tried.
 */
const knownGroups = [
  hybridGroup, 'SecP256r1MLKEM768', 'SecP384r1MLKEM1024', 'MLKEM512', 'MLKEM768', 'MLKEM1024',
  'X25519', 'X448', 'P-256', 'P-384', 'P-521',
  'brainpoolP256r1tls13', 'brainpoolP384r1tls13', 'brainpoolP512r1tls13', 'brainpoolP256r1', 'brainpoolP384r1', 'brainpoolP512r1',
  'ffdhe2048', 'ffdhe3072', 'ffdhe4096', 'ffdhe6144', 'ffdhe8192'
]

const offered = new Map<string, boolean>()

/**
 * Whether the running OpenSSL has the group `name`: it is asked, by building
 * a context with that group alone, never guessed from Node's version (Node 22
 * and 24 builds link different OpenSSL releases, and a distribution's Node
 * may link the system one).
 */
export function offersGroup (name: string): boolean {
  // A bare name only: OpenSSL 3.3+ reads `?name` as "skip when unknown" and
  // 3.5 reads `*`, `/` and `-` as key share and tuple syntax, and `DEFAULT`
  // as its own list, which would let a typo pass or hide what is on; Node
  // takes `auto` for OpenSSL's default.
  if (!/^[A-Za-z][\w-]*$/.test(name) || /^(auto|default)$/i.test(name)) return false
  let known = offered.get(name)
  if (known === undefined) {
    try {
      createSecureContext({ ecdhCurve: name })
      known = true
    } catch {
      known = false
    }
    offered.set(name, known)
  }
  return known
}

/** The groups of {@link knownGroups} this OpenSSL has, for an error message. */
export function availableGroups (): string[] {
  return knownGroups.filter(offersGroup)
}

/** The default: X25519MLKEM768 first where OpenSSL has it (3.5 and later), then X25519, P-256, P-384. */
export function defaultTlsGroups (): string[] {
  return offersGroup(hybridGroup) ? [hybridGroup, ...classicGroups] : [...classicGroups]
}

/**
 * Checks --tls-groups in the primary: each name must be a group this OpenSSL
 * has (OpenSSL refuses a whole list for one unknown name, which would crash
 * every worker). Names are separated by colons, as OpenSSL writes them, or
 * commas; the order is the server's preference.
 */
export function tlsGroups (flag: string, raw: string | undefined): string[] {
  if (raw === undefined) return defaultTlsGroups()
  const names = [...new Set(raw.split(/[:,\s]+/).filter((name) => name !== ''))]
  if (names.length === 0) throw new SeraphError('SERAPH_ERR_MISSING_VALUE', flag)
  for (const name of names) {
    if (!offersGroup(name)) {
      throw new SeraphError('SERAPH_ERR_TLS_GROUP_UNKNOWN', flag, name, process.versions.openssl, availableGroups().join(', '))
    }
  }
  return names
}
