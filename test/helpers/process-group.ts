import { spawnSync } from 'node:child_process'
import { onExit } from 'signal-exit'

const cleanups = new Set<() => void>()
let hooked = false

/**
 * Runs `cleanup` (synchronously) when this test process ends for any reason
 * but SIGKILL: a normal end, an uncaught error, Ctrl-C, or tap's timeout,
 * which ends a test file with an IPC message and then SIGALRM to itself (the
 * runner follows with SIGALRM, then SIGKILL). Teardowns do not run then.
 * Returns a function that unregisters it, for a process that already died.
 */
export function onTestExit (cleanup: () => void): () => void {
  if (!hooked) {
    hooked = true
    // signal-exit is what tap itself hooks these signals with, so ours runs
    // alongside tap's handler instead of replacing its exit behaviour.
    onExit(() => {
      for (const fn of cleanups) {
        try { fn() } catch {}
      }
    })
  }
  cleanups.add(cleanup)
  return () => { cleanups.delete(cleanup) }
}

/** SIGKILLs every process in the group `pgid` leads; quiet when it is empty. */
export function killGroup (pgid: number | undefined): void {
  if (pgid === undefined) return
  try { process.kill(-pgid, 'SIGKILL') } catch {}
}

/**
 * A command prefix that makes the kernel SIGKILL the child when this test
 * process dies, SIGKILL included (tap's last resort on a timeout), where no
 * JavaScript runs. A seraph primary's workers follow it: a cluster worker
 * exits when its primary's IPC channel closes. Empty without util-linux.
 */
export const dieWithTest: readonly string[] = spawnSync('setpriv', ['--version']).status === 0
  ? ['setpriv', '--pdeathsig', 'KILL', '--']
  : []
