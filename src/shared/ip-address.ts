import { isIP } from 'node:net'

/**
 * An IP address in one spelling, for comparing and naming it: IPv4 as given
 * (Node's isIP takes only the dotted-quad form), IPv6 compressed and
 * lower-case (`2001:DB8:0:0::1` → `2001:db8::1`), as a URL spells it.
 * `undefined` for anything else, a zone index (`fe80::1%eth0`) included:
 * no certificate can name one.
 */
export function canonicalIp (value: string): string | undefined {
  const version = isIP(value)
  if (version === 4) return value
  if (version !== 6 || value.includes('%')) return undefined
  return new URL(`http://[${value}]/`).hostname.slice(1, -1)
}
