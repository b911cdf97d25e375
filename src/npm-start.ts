/**
 * What `npm start` runs: seraph, stopped whenever npm is stopped.
 *
 * npm forwards only SIGINT and SIGTERM, and only to its direct child (hence
 * `exec` in the script: dash would otherwise fork, and die of the signal
 * while its child ran on). npm dies of SIGHUP or SIGKILL without telling
 * anyone, so this launcher also watches its parent.
 */
import { spawn } from 'node:child_process'
import { readFileSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { packageRoot } from './shared/package-info.js'

const cli = join(dirname(fileURLToPath(import.meta.url)), 'cli.js')
// Signals that arrive within this window are one request: a Ctrl-C reaches
// us from the terminal and again through npm, and seraph takes a second
// signal as "force, do not drain".
const sameRequestMs = 500
const parentPollMs = 200

// Its own process group: seraph hears only what we forward, once, whether
// the terminal signalled the whole foreground group or someone signalled npm.
const child = spawn(process.execPath, [cli, ...workerUser(process.argv.slice(2)), ...process.argv.slice(2)], { stdio: 'inherit', detached: true })
const parent = process.ppid
let lastForward = -Infinity

function forward (signal: NodeJS.Signals): void {
  const now = performance.now()
  if (now - lastForward < sameRequestMs) return
  lastForward = now
  child.kill(signal)
}

process.on('SIGINT', () => forward('SIGINT'))
process.on('SIGTERM', () => forward('SIGTERM'))
// A hang-up ends the session (and npm dies of it): stop, not seraph's
// SIGHUP meaning of a rolling reload.
process.on('SIGHUP', () => forward('SIGTERM'))

const watch = setInterval(() => {
  if (currentParent() !== parent) {
    clearInterval(watch)
    forward('SIGTERM')
  }
}, parentPollMs)

child.on('exit', (code, signal) => {
  clearInterval(watch)
  if (signal === null) process.exit(code ?? 1)
  process.removeAllListeners(signal)
  process.kill(process.pid, signal)
})
child.on('error', (err) => {
  process.stderr.write(`seraph: cannot start ${cli}: ${err.message}\n`)
  process.exit(1)
})

/**
 * `npm start` as root, with no --user: the workers run as the checkout's
 * owner, not `nobody`, who cannot read a checkout in a 0700 home. The owner
 * of a checkout root made is root: seraph then warns that its workers are.
 */
function workerUser (args: readonly string[]): string[] {
  if (process.getuid?.() !== 0) return []
  if (args.some((arg) => arg === '--user' || arg.startsWith('--user=')) || (process.env.SERAPH_USER ?? '') !== '') return []
  return ['--user', String(statSync(packageRoot).uid)]
}

/** process.ppid is read once at startup; /proc tells the parent now. */
function currentParent (): number {
  try {
    return Number(readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ')[1])
  } catch {
    // No /proc (macOS): a parent that no longer exists is gone all the same.
    try {
      process.kill(parent, 0)
      return parent
    } catch {
      return 1
    }
  }
}
