import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { resolve } from 'node:path'
import { SeraphError } from '../shared/errors.js'
import { seraphStateDir } from '../shared/state-dir.js'
import { canonicalIp } from '../shared/ip-address.js'
import type { OptionName } from './options.js'

export type AcmeChallengeType = 'http-01' | 'tls-alpn-01'

/** Automatic certificates (--domain and the --acme-* flags), validated. */
export interface AcmeConfig {
  /** Lower-case, unique, in the order given; IP addresses (RFC 8738) in canonicalIp()'s spelling. */
  readonly domains: readonly string[]
  readonly directoryUrl: string
  readonly email: string | undefined
  /** PEM text of --acme-ca, trusted for the ACME server's own HTTPS. */
  readonly ca: string | undefined
  readonly challenge: AcmeChallengeType
  readonly stateDir: string
  /** --acme-profile: sent in every new order (acme-profile.ts); `undefined`: the CA's default. */
  readonly profile?: string | undefined
}

export const letsEncryptProduction = 'https://acme-v02.api.letsencrypt.org/directory'
export const letsEncryptStaging = 'https://acme-staging-v02.api.letsencrypt.org/directory'

interface RawAcme {
  readonly domains: readonly string[]
  readonly directory: string | undefined
  readonly email: string | undefined
  readonly caFile: string | undefined
  readonly challenge: string | undefined
  readonly stateDir: string | undefined
  readonly profile: string | undefined
  /** --redirect-port is set: HTTP-01 can be answered. */
  readonly redirectPort: boolean
}

// One DNS label: letters, digits and inner hyphens, at most 63 characters.
const label = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

/** A name a public CA can issue for: at least two labels, no IP address, no wildcard (that needs DNS-01). */
export function isDomainName (name: string): boolean {
  if (name.length > 253 || isIP(name) !== 0) return false
  const labels = name.split('.')
  return labels.length >= 2 && labels.every((l) => label.test(l)) && !/^\d+$/.test(labels.at(-1) as string)
}

export function acmeConfig (raw: RawAcme, flag: (name: OptionName) => string, cwd: string, env: NodeJS.ProcessEnv): AcmeConfig | undefined {
  if (raw.domains.length === 0) return undefined
  const domains: string[] = []
  for (const given of raw.domains) {
    // An IP address gets an `ip` identifier (RFC 8738; Let's Encrypt issues
    // them with the shortlived profile); public CAs refuse private ranges.
    const name = canonicalIp(given.trim()) ?? given.trim().toLowerCase().replace(/\.$/, '')
    if (!isDomainName(name) && canonicalIp(name) === undefined) throw new SeraphError('SERAPH_ERR_DOMAIN_INVALID', flag('domain'), given)
    if (!domains.includes(name)) domains.push(name)
  }
  const directoryUrl = raw.directory ?? letsEncryptProduction
  if (!/^https?:\/\/[^\s/]+/.test(directoryUrl) || !URL.canParse(directoryUrl)) {
    throw new SeraphError('SERAPH_ERR_ACME_DIRECTORY_INVALID', flag('acmeDirectory'), directoryUrl)
  }
  if (raw.email !== undefined && !/^[^\s@]+@[^\s@]+$/.test(raw.email)) throw new SeraphError('SERAPH_ERR_ACME_EMAIL_INVALID', flag('acmeEmail'), raw.email)
  if (raw.challenge === 'http-01' && !raw.redirectPort) throw new SeraphError('SERAPH_ERR_ACME_HTTP01_NEEDS_REDIRECT', flag('acmeChallenge'))
  const profile = raw.profile?.trim()
  if (profile === '') throw new SeraphError('SERAPH_ERR_MISSING_VALUE', flag('acmeProfile'))
  return {
    domains,
    directoryUrl,
    email: raw.email,
    ca: raw.caFile === undefined ? undefined : readCa(flag('acmeCa'), resolve(cwd, raw.caFile)),
    challenge: (raw.challenge as AcmeChallengeType | undefined) ?? (raw.redirectPort ? 'http-01' : 'tls-alpn-01'),
    stateDir: raw.stateDir === undefined ? seraphStateDir(env, flag('stateDir')) : resolve(cwd, raw.stateDir),
    ...(profile === undefined ? {} : { profile })
  }
}

function readCa (flag: string, path: string): string {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new SeraphError('SERAPH_ERR_CERT_UNREADABLE', flag, path, (err as NodeJS.ErrnoException).code ?? 'error')
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new SeraphError('SERAPH_ERR_CERT_INVALID', flag, path)
  return text
}
