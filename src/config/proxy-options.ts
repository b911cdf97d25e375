import { isIPv4, isIPv6 } from 'node:net'
import type { OptionSpec } from './option-spec.js'
import { SeraphError } from '../shared/errors.js'

/** The PROXY protocol options (src/worker/proxy-protocol/); validated by {@link proxyProtocolConfig}. */
export const proxyOptionSpecs = {
  proxyProtocol: {
    flag: '--proxy-protocol',
    env: 'SERAPH_PROXY_PROTOCOL',
    switch: true,
    description: 'read a PROXY protocol (v1 or v2) header on every connection from a --trusted-proxy, on the HTTPS and the redirect port, and take the client address from it'
  },
  trustedProxy: {
    flag: '--trusted-proxy',
    env: 'SERAPH_TRUSTED_PROXY',
    placeholder: 'CIDR',
    repeatable: true,
    defaultText: 'none',
    description: 'address or CIDR block of a load balancer that sends PROXY headers (needs --proxy-protocol); repeat for more'
  }
} as const satisfies Record<string, OptionSpec>

/** `undefined`: no PROXY protocol; otherwise the trusted proxies, each `address` or `address/prefix`. */
export type ProxyProtocolConfig = { readonly trusted: readonly string[] } | undefined

/** Both flags go together: a header is only ever believed from a trusted address. */
export function proxyProtocolConfig (enabled: boolean, trusted: readonly string[], label: (name: 'proxyProtocol' | 'trustedProxy') => string): ProxyProtocolConfig {
  for (const entry of trusted) checkCidr(label('trustedProxy'), entry)
  if (enabled && trusted.length === 0) throw new SeraphError('SERAPH_ERR_PROXY_PROTOCOL_INCOMPLETE', label('proxyProtocol'), '--trusted-proxy')
  if (!enabled && trusted.length > 0) throw new SeraphError('SERAPH_ERR_PROXY_PROTOCOL_INCOMPLETE', label('trustedProxy'), '--proxy-protocol')
  return enabled ? { trusted } : undefined
}

function checkCidr (flag: string, entry: string): void {
  const match = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(entry)
  const address = match?.[1] ?? ''
  const bits = isIPv4(address) ? 32 : isIPv6(address) ? 128 : 0
  const prefix = match?.[2] === undefined ? bits : Number(match[2])
  if (bits === 0 || prefix > bits) throw new SeraphError('SERAPH_ERR_TRUSTED_PROXY_INVALID', flag, entry)
}
