import { join } from 'node:path'
import { pino } from 'pino'
import type { AcmeConfig } from '../../src/config/acme-config.js'
import { AcmeService } from '../../src/primary/acme/acme-service.js'
import type { SharedStore } from '../../src/primary/store/shared-store.js'
import { tempDir } from './certificates.js'
import { WatchedList } from './watched-list.js'

interface Teardown { teardown (fn: () => unknown): void }

export interface InProcessAcme {
  readonly service: AcmeService
  readonly stateDir: string
  readonly lines: Array<Record<string, unknown>>
  /** Resolves with the first log line (logged or to come) that matches. */
  waitForLine (match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>
}

/** The primary's AcmeService alone, logging into an array: no workers, no ports. Stopped in teardown. `store`: as with --store; `config`: more --acme-* settings. */
export function inProcessAcme (t: Teardown, directoryUrl: string, domains: string[], stateDir = join(tempDir(t), 'state'), store?: SharedStore, config: Partial<AcmeConfig> = {}): InProcessAcme {
  const lines = new WatchedList<Record<string, unknown>>()
  const log = pino({ level: 'debug' }, {
    write: (text: string) => {
      lines.push(JSON.parse(text) as Record<string, unknown>)
    }
  })
  const service = new AcmeService({
    config: { domains, directoryUrl, email: undefined, ca: undefined, challenge: 'tls-alpn-01', stateDir, ...config },
    log,
    store,
    manualNames: () => false,
    publishCertificates: () => {},
    publishChallenges: async () => {}
  })
  t.teardown(() => service.stop())
  return {
    service,
    stateDir,
    lines: lines.items,
    waitForLine: (match) => lines.waitFor(match)
  }
}
