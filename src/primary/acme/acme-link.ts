import type { AcmeConfig } from '../../config/acme-config.js'
import { coversName } from '../../shared/certificate-names.js'
import type { Logger } from '../../shared/logger.js'
import type { ExtraStatus } from '../cluster-status.js'
import type { SharedStore } from '../store/shared-store.js'
import type { WorkerPool } from '../worker-pool.js'
import { AcmeService } from './acme-service.js'
import { ChallengeAcks } from './challenge-acks.js'

/**
 * The ACME service wired to the worker pool: certificates and challenge
 * sets go to every started worker, and a challenge set counts as published
 * once each of them confirmed it (the CA is asked to validate only then).
 */
export class AcmeLink {
  readonly service: AcmeService
  readonly #acks = new ChallengeAcks()

  /** `store`: --store, shared with the other hosts of the fleet; undefined keeps everything on this host. */
  constructor (config: AcmeConfig, log: Logger, manualNames: readonly string[], pool: WorkerPool, store?: SharedStore) {
    this.service = new AcmeService({
      store,
      config,
      log,
      manualNames: (name) => coversName(manualNames, name),
      publishCertificates: (certificates) => pool.broadcast({ act: 'certificates', certificates }, 'started'),
      publishChallenges: (version, challenges) => this.#acks.publish(version, challenges, pool.startedWorkers()
        .map((state) => ({ id: state.worker.id, send: (message) => pool.send(state, message) })))
    })
  }

  /** A worker applied challenge set `version`. */
  applied (workerId: number, version: number): void {
    this.#acks.applied(workerId, version)
  }

  /** A worker exited: nobody waits for its confirmation any more. */
  gone (workerId: number): void {
    this.#acks.gone(workerId)
  }

  /** Metrics and the `/healthz` expiry list for the admin listener. */
  get status (): ExtraStatus {
    return { registry: this.service.metrics.registry, health: () => ({ certificates: this.service.health() }) }
  }
}
