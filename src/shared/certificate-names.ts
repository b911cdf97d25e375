import { X509Certificate } from 'node:crypto'

/** The DNS names a PEM certificate (the first of a chain) is for: its subjectAltName, else its common name. Lower-case. */
export function certificateNames (pem: string | Buffer): string[] {
  const x509 = new X509Certificate(pem)
  const names = (x509.subjectAltName ?? '').split(/,\s*/)
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase())
  if (names.length > 0) return names
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(x509.subject)?.[1]
  return cn === undefined ? [] : [cn.toLowerCase()]
}

/** True when `name` is one of `names`, directly or through a one-label wildcard (`*.example.org`). */
export function coversName (names: readonly string[], name: string): boolean {
  const lower = name.toLowerCase()
  const dot = lower.indexOf('.')
  return names.includes(lower) || (dot > 0 && names.includes(`*${lower.slice(dot)}`))
}
