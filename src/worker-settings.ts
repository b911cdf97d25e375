import type { Config } from './config.js'
import type { WorkerSettings } from './messages.js'
import type { SharedTlsState } from './shared-tls-state.js'

const year = 365 * 86_400_000

/** What one worker is told at start: the configuration as a worker needs it. */
export function workerSettings (config: Config, shared: SharedTlsState, worker: Pick<WorkerSettings, 'workerId' | 'certPath' | 'keyPath' | 'redirect' | 'privatePaths' | 'extraPairs' | 'acmeDefault' | 'certificates' | 'challenges'>): WorkerSettings {
  return {
    ...worker,
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
    followSymlinks: config.followSymlinks
  }
}
