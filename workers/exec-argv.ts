/**
 * The Node/V8 flags a worker process starts with (the primary forks it with
 * these, src/primary/worker-pool.ts).
 *
 * The young generation: V8 lets each semi-space grow to 16 MiB on 64-bit,
 * and under load a worker's two reach it: 32 MiB of RSS per worker that is
 * mostly garbage waiting for the next scavenge. 2 MiB per semi-space keeps a
 * worker ~14 MiB smaller after load; the extra scavenges and promotions cost
 * HTTP/1.1 nothing measurable and HTTP/2 perhaps a few percent of CPU per
 * request, below this bench machine's noise (bench/README.md, "The young generation: CPU against memory").
 * A --max-semi-space-size the user gave (on the command line or in
 * NODE_OPTIONS) wins.
 */
export const workerSemiSpaceMiB = 2

const semiSpaceFlag = /^--max[-_]semi[-_]space[-_]size(?:=|$)/

/** `execArgv` (the primary's own, which node:cluster passes on by default) plus the worker's flags. */
export function workerExecArgv (execArgv: readonly string[], nodeOptions: string = process.env.NODE_OPTIONS ?? ''): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].some((arg) => semiSpaceFlag.test(arg))
  return given ? [...execArgv] : [...execArgv, `--max-semi-space-size=${workerSemiSpaceMiB}`]
}
