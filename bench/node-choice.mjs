// @ts-check
/**
 * Which Node runs the bench (`--node 24`, the default, or `--node current`).
 * Users run Node 24 (Node 20 is end of life, issue 31), so the headline
 * figures come from it: when this script is not already on Node 24, npm's
 * `node@24` package is installed once into a cache folder, the way `.ci/run`
 * installs it, and the script runs again on that Node. Every server the bench
 * starts is `process.execPath` (contenders.mjs), so the servers, the floors
 * and autocannon all run on the Node the report names.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** @typedef {'24' | 'current'} NodeChoice */

export const nodeChoices = /** @type {const} */ (['24', 'current'])

/**
 * The folder of the installed Node 24, reused by every later run:
 * bench/results/node24 (ignored by git), in the checkout: readable by
 * whatever user the servers run as, which a Node under /root/.cache is not.
 */
export function node24Prefix () {
  return fileURLToPath(new URL('results/node24', import.meta.url))
}

/**
 * The path of Node 24 in the cache, installed first when missing (or when
 * what is there is not Node 24).
 * @param {(message: string) => void} progress
 * @param {(message: string) => never} fail
 * @returns {string}
 */
export function ensureNode24 (progress, fail) {
  const prefix = node24Prefix()
  const binary = join(prefix, 'node_modules', '.bin', 'node')
  if (versionOf(binary).startsWith('v24.')) return binary
  progress(`bench: installing Node 24 (npm's node@24) into ${prefix}`)
  mkdirSync(prefix, { recursive: true })
  const npm = spawnSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', 'node@24'], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
  const version = versionOf(binary)
  if (npm.status !== 0 || !version.startsWith('v24.')) {
    const why = npm.error?.message ?? (npm.stderr.trim().split('\n').pop() ?? `exit ${npm.status}`)
    fail(`could not install Node 24 into ${prefix} (${why}); --node current runs on this Node (${process.version})`)
  }
  return binary
}

/** @param {string} binary */
function versionOf (binary) {
  if (!existsSync(binary)) return ''
  const run = spawnSync(binary, ['--version'], { encoding: 'utf8' })
  return run.status === 0 ? run.stdout.trim() : ''
}

/**
 * Runs this script again on `binary` with the same arguments, forwarding the
 * signals that stop the bench, and exits with the child's status. The child
 * is then on Node 24 and does not come back here.
 * @param {string} binary
 * @returns {Promise<never>}
 */
export function rerunOn (binary) {
  const child = spawn(binary, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' })
  for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
    process.on(signal, () => { child.kill(signal) })
  }
  return new Promise(() => {
    child.on('exit', (code, signal) => {
      process.exit(code ?? (signal !== null ? 130 : 1))
    })
  })
}

/**
 * What the report says about the Node that ran it.
 * @param {NodeChoice} choice
 */
export function nodeDescription (choice) {
  const openssl = process.versions.openssl
  const from = process.execPath.startsWith(node24Prefix()) ? `npm's node@24 in ${node24Prefix()}` : `the machine's, ${process.execPath}`
  return `Node ${process.version} (OpenSSL ${openssl}; ${from}; --node ${choice})`
}
