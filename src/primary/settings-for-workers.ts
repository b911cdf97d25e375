import type { Config } from '../config/config.js'
import type { AcmeChallenge, CertificateEntry, WorkerSettings } from '../shared/messages.js'
import type { ManualPems } from './certificates.js'
import { devCertDir } from '../shared/state-dir.js'
import type { SharedTlsState } from './cluster-tls-state.js'

/** What the primary knows beyond the configuration when a worker starts. */
export interface StartContext {
  readonly workerId: number
  /** The default pair's files: the first --cert, or the development certificate ('' with --domain alone). */
  readonly certPath: string
  readonly keyPath: string
  /** What those files and the further pairs hold, read by the primary. */
  readonly pems: ManualPems
  /** A 'redirect-handle' message follows. */
  readonly redirect: boolean
  /** The ACME service's current state, when --domain is given. */
  readonly acme: { readonly certificates: CertificateEntry[], readonly challenges: AcmeChallenge[] } | undefined
}

const year = 365 * 86_400_000

// Private even when --cert is given: an earlier run may have left a CA key
// there. Without a state home there is no such folder to hide.
function knownDevCertDir (): string[] {
  try {
    return [devCertDir(process.env)]
  } catch {
    return []
  }
}

/** What one worker is told at start: the configuration as a worker needs it. */
export function workerSettings (config: Config, shared: SharedTlsState, context: StartContext): WorkerSettings {
  const { acme, pems, certPath, keyPath, ...worker } = context
  return {
    ...worker,
    defaultPair: pems.defaultPair,
    extraPairs: pems.extraPairs,
    acmeDefault: config.cert === undefined && acme !== undefined,
    certificates: acme?.certificates ?? [],
    challenges: acme?.challenges ?? [],
    // The development CA's key lives beside its certificate: never servable either.
    // With --domain and no --cert the paths are '' (cli.ts), which would resolve
    // to the working directory and make a --root inside it private: left out.
    privatePaths: [
      certPath, keyPath, ...knownDevCertDir(),
      ...config.certPairs.flatMap((pair) => [pair.cert, pair.key]),
      ...(config.tls.ticketKeyFile === undefined ? [] : [config.tls.ticketKeyFile]),
      ...(config.acme === undefined ? [] : [config.acme.stateDir]),
      ...(config.store === undefined ? [] : [config.store.keyFile])
    ].filter((path) => path !== ''),
    root: config.root,
    logLevel: config.logLevel,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    limits: config.limits,
    ticketKeys: shared.ticketKeys,
    sessionCache: shared.sessionCacheEnabled,
    sessionCacheSize: shared.sessionCacheSize,
    sessionTimeoutMs: config.tls.sessionTimeoutMs,
    tlsPolicy: config.tlsPolicy,
    http2: config.http2,
    securityHeaders: {
      // HSTS pins browsers to HTTPS for this host: never for a development certificate.
      hstsMaxAgeSeconds: Math.round((config.hstsMaxAgeMs ?? (config.cert === undefined && config.acme === undefined ? 0 : year)) / 1000),
      contentSecurityPolicy: config.contentSecurityPolicy
    },
    fileCacheBytes: config.fileCacheBytes,
    proxyProtocol: config.proxyProtocol,
    followSymlinks: config.followSymlinks
  }
}
