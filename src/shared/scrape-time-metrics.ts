import type { Registry } from 'prom-client'

type PromClient = typeof import('prom-client')
type Read<T> = () => T

/**
 * prom-client metrics whose values live in plain fields and are read at each
 * scrape (collect): the process counts with `++` on its hot path and loads
 * prom-client only at the first scrape of --admin-port (docs/performance-history.md,
 * "Memory"). Used by the primary (cluster-status.ts) and the workers
 * (worker/metrics.ts); `prom` is the module they imported then.
 */
export function scrapeTimeMetrics (prom: PromClient, registry: Registry) {
  const registers = [registry]
  /* eslint-disable no-new -- each metric registers itself and is read at every scrape */
  return {
    counter (name: string, help: string, read: Read<number>): void {
      new prom.Counter({ name, help, registers, collect () { this.reset(); this.inc(read()) } })
    },
    /** `read` yields each label set with its count; a label set not yielded has no series. */
    labelledCounter<L extends string> (name: string, help: string, labelNames: readonly L[], read: Read<Iterable<readonly [Partial<Record<L, string>>, number]>>): void {
      new prom.Counter<L>({
        name,
        help,
        labelNames,
        registers,
        collect () {
          this.reset()
          for (const [labels, count] of read()) this.inc(labels, count)
        }
      })
    },
    gauge (name: string, help: string, read: Read<number>): void {
      new prom.Gauge({ name, help, registers, collect () { this.set(read()) } })
    }
  }
  /* eslint-enable no-new */
}
