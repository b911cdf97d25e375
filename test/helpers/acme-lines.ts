import type { LogLine, SeraphProcess } from './seraph-process.js'

/** A log line's test: `msg`, and `serial` when given. */
export const is = (msg: string, serial?: unknown) => (line: LogLine): boolean => line.msg === msg && (serial === undefined || line.serial === serial)

/** The first of `hosts` to log `msg`: which one (and its index), and the line. */
export async function first<H extends { readonly seraph: SeraphProcess }> (hosts: readonly H[], msg: string, timeoutMs = 60_000): Promise<{ host: H, index: number, line: LogLine }> {
  return Promise.race(hosts.map(async (host, index) => ({ host, index, line: await host.seraph.waitForLine(is(msg), `host ${index}: ${msg}`, timeoutMs) })))
}

/** Resolves once every live worker of `seraph` applied the certificate with `serial`. */
export async function appliedEverywhere (seraph: SeraphProcess, serial: unknown): Promise<void> {
  for (const pid of seraph.liveWorkerPids()) {
    await seraph.waitForLine((l) => l.role === 'worker' && l.pid === pid && l.msg === 'certificates applied' && (l.serials as string[]).includes(serial as string),
      `worker ${pid} applied ${String(serial)}`, 30_000)
  }
}
