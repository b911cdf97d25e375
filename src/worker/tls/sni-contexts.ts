import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls'
import { certificateNames } from '../../shared/certificate-names.js'
import type { CertificateEntry } from '../../shared/messages.js'

export interface PemPair {
  readonly cert: Buffer | string
  readonly key: Buffer | string
}

/**
 * A worker's certificates by server name, for the HTTPS server's SNICallback:
 * the --cert/--key pairs first (in order: the first pair that covers a name
 * wins), then the ACME certificates. A client that sends no name, or one
 * nothing covers, gets the server's default context (the callback answers
 * `undefined`). Replacing a set only affects new handshakes.
 */
export class SniContexts {
  readonly #base: () => SecureContextOptions
  #manual: Array<{ names: string[], context: SecureContext }> = []
  #acme = new Map<string, SecureContext>()
  #acmeEntries: readonly CertificateEntry[] = []
  // A renewal replaces one name's certificate: the others keep their context.
  #byPem = new Map<string, SecureContext>()

  /** `base`: the TLS options every context shares (protocol versions, session settings). */
  constructor (base: () => SecureContextOptions) {
    this.#base = base
  }

  setManual (pairs: readonly PemPair[]): void {
    this.#manual = pairs.map((pair) => ({
      names: certificateNames(pair.cert),
      context: createSecureContext({ ...this.#base(), cert: pair.cert, key: pair.key })
    }))
  }

  setAcme (entries: readonly CertificateEntry[]): void {
    const byPem = new Map<string, SecureContext>()
    const acme = new Map<string, SecureContext>()
    for (const entry of entries) {
      const context = byPem.get(entry.cert) ?? this.#byPem.get(entry.cert) ?? createSecureContext({ ...this.#base(), cert: entry.cert, key: entry.key })
      byPem.set(entry.cert, context)
      for (const name of entry.names) if (!acme.has(name)) acme.set(name, context)
    }
    this.#byPem = byPem
    this.#acme = acme
    this.#acmeEntries = entries
  }

  get acmeEntries (): readonly CertificateEntry[] {
    return this.#acmeEntries
  }

  lookup (servername: string): SecureContext | undefined {
    const name = servername.toLowerCase()
    const dot = name.indexOf('.')
    const wildcard = dot > 0 ? `*${name.slice(dot)}` : undefined
    for (const { names, context } of this.#manual) {
      if (names.includes(name) || (wildcard !== undefined && names.includes(wildcard))) return context
    }
    return this.#acme.get(name)
  }

  /** For `SNICallback`; bound, so it can be passed as is. */
  readonly callback = (servername: string, done: (err: Error | null, context?: SecureContext) => void): void => {
    done(null, this.lookup(servername))
  }
}
