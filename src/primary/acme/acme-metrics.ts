import { Counter, Gauge, Registry } from 'prom-client'

/** The primary's ACME metrics, merged into the admin listener's /metrics. */
export class AcmeMetrics {
  readonly registry = new Registry()
  readonly #expiry = new Gauge({
    name: 'seraph_certificate_expiry_timestamp_seconds',
    help: 'notAfter of the certificate served for each --domain name (Unix seconds); absent while a name has only its temporary one',
    labelNames: ['name'],
    registers: [this.registry]
  })

  readonly #orders = new Counter({
    name: 'seraph_acme_orders_total',
    help: 'ACME orders, by result (valid, failed)',
    labelNames: ['result'],
    registers: [this.registry]
  })

  expiry (name: string, notAfter: Date): void {
    this.#expiry.set({ name }, Math.floor(notAfter.getTime() / 1000))
  }

  order (result: 'valid' | 'failed'): void {
    this.#orders.inc({ result })
  }
}
