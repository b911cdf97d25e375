import { isIP } from 'node:net'

/** The ACME identifier type of a --domain value: `ip` for an address (RFC 8738 §3), `dns` otherwise. */
export function identifierType (value: string): 'ip' | 'dns' {
  return isIP(value) === 0 ? 'dns' : 'ip'
}

/** `names` with the IP addresses first, each group in its order. */
export function addressesFirst (names: readonly string[]): string[] {
  return [...names.filter((name) => isIP(name) !== 0), ...names.filter((name) => isIP(name) === 0)]
}

/**
 * The server name a TLS-ALPN-01 validation of an IP address sends (RFC 8738
 * §6): an address cannot be SNI (RFC 6066 §3), so the CA sends its
 * reverse-DNS name, `7.2.0.192.in-addr.arpa` or the 32 nibbles of an IPv6
 * address under `ip6.arpa`. A name is its own.
 */
export function validationServerName (value: string): string {
  const version = isIP(value)
  if (version === 4) return `${value.split('.').reverse().join('.')}.in-addr.arpa`
  if (version === 0) return value
  return `${expandIpv6(value).split('').reverse().join('.')}.ip6.arpa`
}

/** The 32 hex digits of an IPv6 address, an embedded IPv4 tail included. */
function expandIpv6 (address: string): string {
  let text = address.toLowerCase()
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.split('::') as [string, string | undefined]
  const groups = (part: string | undefined): string[] => part === undefined || part === '' ? [] : part.split(':')
  const left = groups(head)
  const right = groups(tail)
  const middle = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0')
  return [...left, ...middle, ...right].map((group) => group.padStart(4, '0')).join('')
}
