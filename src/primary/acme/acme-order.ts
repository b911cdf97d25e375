import { Client, crypto as acmeCrypto } from 'acme-client'
import type { AcmeConfig } from '../../config/acme-config.js'
import type { Logger } from '../../shared/logger.js'
import type { AcmeProfile } from './acme-profile.js'
import { identifierType, validationServerName } from './ip-identifier.js'
import type { CertificateStorage } from './certificate-storage.js'
import type { ChallengeRegistry } from './challenge-registry.js'
import type { FleetChallenges } from './fleet-challenges.js'
import type { StoredCertificate } from './state-store.js'

/**
 * One order with the CA through acme-client: the account (from
 * certificate-storage.ts, shared by the fleet with --store), a new key and
 * CSR for the name, and the challenge, answered by this host's workers and,
 * with --store, by every other host's (fleet-challenges.ts) before the CA is
 * asked to validate it.
 */
export class AcmeOrderer {
  readonly #config: AcmeConfig
  readonly #log: Logger
  readonly #storage: CertificateStorage
  readonly #challenges: ChallengeRegistry
  readonly #fleet: FleetChallenges | undefined
  readonly #profile: AcmeProfile | undefined
  #client: Client | undefined

  constructor (config: AcmeConfig, log: Logger, storage: CertificateStorage, challenges: ChallengeRegistry, fleet: FleetChallenges | undefined, profile?: AcmeProfile) {
    this.#config = config
    this.#log = log
    this.#storage = storage
    this.#challenges = challenges
    this.#fleet = fleet
    this.#profile = profile
  }

  async order (name: string): Promise<StoredCertificate> {
    await this.#profile?.ensure()
    const client = await this.#account()
    // An address goes in the subjectAltName alone (an iPAddress entry): a
    // common name is for DNS names, and Let's Encrypt leaves it out of IP certificates.
    const subject = identifierType(name) === 'ip' ? { altNames: [name] } : { commonName: name, altNames: [name] }
    const [key, csr] = await acmeCrypto.createCsr(subject, await acmeCrypto.createPrivateEcdsaKey())
    const type = this.#config.challenge
    const fleet = this.#fleet
    const chain = await client.auto({
      csr,
      ...(this.#config.email === undefined ? {} : { email: this.#config.email }),
      termsOfServiceAgreed: true,
      // acme-client's own check fetches http://NAME/ on port 80 from this
      // machine, which proves nothing the CA's validation does not.
      skipChallengeVerification: true,
      challengePriority: [type],
      challengeCreateFn: async (authz, challenge, keyAuthorization) => {
        if (challenge.type !== type) throw new Error(`the CA offers no ${type} challenge for ${authz.identifier.value}`)
        const id = `${authz.identifier.value} ${challenge.token}`
        if (type === 'http-01') {
          await this.#challenges.add(id, { type, token: challenge.token, keyAuthorization })
        } else {
          // acme-client puts an address in the certificate as an iPAddress, as RFC 8738 §6 wants.
          const [challengeKey, cert] = await acmeCrypto.createAlpnCertificate(authz, keyAuthorization)
          await this.#challenges.add(id, { type, name: validationServerName(authz.identifier.value), cert: cert.toString(), key: challengeKey.toString() })
        }
        await fleet?.publish(authz.identifier.value, this.#challenges.localFor(authz.identifier.value))
      },
      challengeRemoveFn: async (authz, challenge) => {
        await this.#challenges.remove(`${authz.identifier.value} ${challenge.token}`)
        await fleet?.publish(authz.identifier.value, this.#challenges.localFor(authz.identifier.value))
      }
    })
    return { key: key.toString(), chain }
  }

  async #account (): Promise<Client> {
    if (this.#client !== undefined) return this.#client
    const { pem, created } = await this.#storage.accountKey()
    if (created) this.#log.info({ stateDir: this.#storage.local.root, ...(this.#storage.store === undefined ? {} : { shared: true }) }, 'ACME account key created')
    // Polls an order or challenge from 0.5 s, doubling, for about a minute.
    const client = new Client({ directoryUrl: this.#config.directoryUrl, accountKey: pem, backoffMin: 500, backoffMax: 10_000, backoffAttempts: 10 })
    completeOrders(client, this.#profile?.name)
    // A key this host did not just create may be registered already (by another
    // host of the fleet, or an earlier run): look the account up. Left to
    // auto(), acme-client registers again and, on the CA's 200, posts an update
    // with only termsOfServiceAgreed, which pebble refuses ("Use POST-as-GET …
    // instead of doing an empty update"): every host but the first failed its
    // first order. Not found (or any error): auto() registers as before.
    if (!created) {
      await client.createAccount({ onlyReturnExisting: true, ...(this.#config.email === undefined ? {} : { contact: [`mailto:${this.#config.email}`] }) })
        .catch((err: Error) => this.#log.debug({ problem: err.message }, 'ACME account not found by its key, registering it'))
    }
    this.#client = client
    return client
  }
}

/**
 * acme-client 5.4's auto() places the order itself, with `dns` identifiers
 * and nothing else: its createOrder is wrapped to add what auto() cannot say,
 * `ip` identifiers for addresses (RFC 8738) and the profile
 * (draft-ietf-acme-profiles §4), as seraph adds ARI beside it.
 */
function completeOrders (client: Client, profile: string | undefined): void {
  const createOrder = client.createOrder.bind(client)
  client.createOrder = async (data) => await createOrder({
    ...data,
    identifiers: data.identifiers.map((identifier) => ({ ...identifier, type: identifierType(identifier.value) })),
    ...(profile === undefined ? {} : { profile })
  } as typeof data)
}
