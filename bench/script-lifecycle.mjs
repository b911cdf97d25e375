// @ts-check
/**
 * What every bench script does around its work: a temporary folder for the
 * run (the certificate, the copy of seraph's build, nginx's prefix…), and
 * when the script ends — done, failed, Ctrl-C, an exit — every process it
 * started stopped and the folder removed. A failure prints one line,
 * `name: message`, and exits 1.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { failWith } from './fail.mjs'
import { killAllStarted } from './processes.mjs'

export { failWith }

/**
 * @typedef {object} ScriptSpec
 * @property {string} name for the error line, e.g. `bench:ab`
 * @property {string} folderPrefix of the temporary folder, e.g. `seraph-ab-`
 * @property {(signal: string) => void} [onSignal] says something before the clean-up
 * @property {boolean} [stack] the error line ends with the stack (unexpected errors of the main bench)
 */

/**
 * Runs `main` with a fresh temporary folder. `stopAll` stops what it started
 * and removes the folder at once (for a script's own time budget).
 * @param {ScriptSpec} spec
 * @param {(tmpDir: string, stopAll: () => void) => Promise<void>} main
 */
export function runBenchScript (spec, main) {
  let tmpDir = ''
  const stopAll = () => {
    killAllStarted()
    if (tmpDir !== '') rmSync(tmpDir, { recursive: true, force: true })
    tmpDir = ''
  }
  // Synchronous, so it also runs when a script ends with process.exit (a bad option).
  process.on('exit', stopAll)
  for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
    process.once(signal, () => {
      spec.onSignal?.(signal)
      stopAll()
      process.exit(130)
    })
  }
  tmpDir = mkdtempSync(join(tmpdir(), spec.folderPrefix))
  main(tmpDir, stopAll).then(stopAll, (err) => {
    failWith(spec.name)(err instanceof Error ? errorLine(err, spec.stack === true) : String(err))
  })
}

/**
 * What a failed script prints: a bad command line (node:util parseArgs'
 * ERR_PARSE_ARGS_* errors, whose message goes on with hints) is one line and
 * never a stack; other errors their message, or their stack with `stack`.
 * @param {Error} err
 * @param {boolean} stack
 */
function errorLine (err, stack) {
  const code = /** @type {{ code?: unknown }} */ (err).code
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) return err.message.split('\n')[0] ?? err.message
  return stack ? err.stack ?? err.message : err.message
}
