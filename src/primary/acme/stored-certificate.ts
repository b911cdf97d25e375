import { createPrivateKey, X509Certificate } from 'node:crypto'
import { canonicalIp } from '../../shared/ip-address.js'
import type { StoredCertificate } from './state-store.js'

export type StoredCheck =
  | { readonly usable: true, readonly leaf: X509Certificate }
  | { readonly usable: false, readonly reason: string }

/**
 * Whether a certificate read from --state-dir may be served for `name` as it
 * is. The folder is the operator's (restored from a backup, copied between
 * machines, edited by hand), so nothing in it is trusted: serving a pair
 * whose key does not match would fail every handshake for the name, and one
 * for other names would fail every browser's name check, until the next
 * renewal, which could be weeks away. Anything not usable is ordered anew.
 */
export function checkStoredCertificate (name: string, stored: StoredCertificate, now = Date.now()): StoredCheck {
  let leaf: X509Certificate
  try {
    leaf = new X509Certificate(stored.chain)
  } catch {
    return { usable: false, reason: 'the certificate cannot be read' }
  }
  if (Date.parse(leaf.validFrom) > now) return { usable: false, reason: `not valid before ${new Date(leaf.validFrom).toISOString()}` }
  if (Date.parse(leaf.validTo) <= now) return { usable: false, reason: `expired on ${new Date(leaf.validTo).toISOString()}` }
  // Exactly the one name: seraph orders one certificate per name, so any
  // other subjectAltName (another name, a wildcard, an address) means the
  // file is not the one seraph wrote for it.
  const altNames = (leaf.subjectAltName ?? '').split(/,\s*/).filter(Boolean)
  if (altNames.length !== 1 || !namesExactly(altNames[0] as string, name)) {
    const wanted = canonicalIp(name) === undefined ? `DNS:${name}` : `IP Address:${name}`
    return { usable: false, reason: `it is for ${altNames.length === 0 ? 'no name' : altNames.join(', ')}, not ${wanted}` }
  }
  try {
    if (!leaf.checkPrivateKey(createPrivateKey(stored.key))) return { usable: false, reason: 'the private key does not belong to the certificate' }
  } catch {
    return { usable: false, reason: 'the private key cannot be read' }
  }
  return { usable: true, leaf }
}

/** True when the subjectAltName entry `entry` (as Node writes it) is `name`: a DNS name, or an address in any spelling (Node writes IPv6 uncompressed). */
function namesExactly (entry: string, name: string): boolean {
  if (entry.toLowerCase() === `dns:${name}`) return true
  return entry.startsWith('IP Address:') && canonicalIp(entry.slice('IP Address:'.length)) === canonicalIp(name) && canonicalIp(name) !== undefined
}

/** A certificate being served for a name, read from its chain. */
export interface Served {
  readonly stored: StoredCertificate
  readonly serial: string
  readonly notBefore: Date
  readonly notAfter: Date
  /** The self-signed stand-in of temporary-certificate.ts. */
  readonly temporary: boolean
}

/** Serial and validity of a stored chain's leaf; undefined when it cannot be read. */
export function describe (stored: StoredCertificate, temporary: boolean): Served | undefined {
  try {
    const leaf = new X509Certificate(stored.chain)
    return { stored, serial: leaf.serialNumber.toLowerCase(), notBefore: new Date(leaf.validFrom), notAfter: new Date(leaf.validTo), temporary }
  } catch {
    return undefined
  }
}
