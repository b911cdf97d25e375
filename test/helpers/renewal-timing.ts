import { setTimeout as sleep } from 'node:timers/promises'
import type { SeraphProcess } from './seraph-process.js'

/**
 * Resolves `leadMs` before the earliest renewal that any of `hosts` planned
 * for the certificate `serial` (their `renewal planned` lines).
 *
 * Renewal tests start their load here rather than at issuance: the load has
 * to be running when the renewed certificate is swapped in, and a load that
 * ran for the whole lifetime of pebble's short certificate only took CPU
 * from the suite's other test files. The wait is on the clock because the
 * renewal itself is on seraph's clock; the tests also assert that the load
 * was answered before the renewal, so a late start fails instead of passing.
 */
export async function shortlyBeforeRenewal (hosts: readonly SeraphProcess[], serial: unknown, leadMs = 3000): Promise<void> {
  const planned = await Promise.all(hosts.map(async (seraph) => await seraph.waitForLine(
    (l) => l.msg === 'renewal planned' && l.serial === serial && l.next === 'renew', `renewal planned for ${String(serial)}`, 60_000)))
  const earliest = Math.min(...planned.map((line) => Date.parse(line.at as string)))
  await sleep(Math.max(0, earliest - leadMs - Date.now()))
}
