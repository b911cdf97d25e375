import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, linkSync, lstatSync, mkdirSync, readdirSync, readlinkSync, symlinkSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { packageRoot } from '../../src/shared/package-info.js'
import { dieWithTest, killGroup, onTestExit } from './process-group.js'

interface Teardown { teardown (fn: () => unknown): void }

export interface RunResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs `command` to its end in a process group of its own that dies with the
 * test (npm forks shells and tsc: one group kill reaches them all).
 */
export function run (t: Teardown, command: readonly string[], options: { cwd?: string, env?: NodeJS.ProcessEnv, timeoutMs?: number } = {}): Promise<RunResult> {
  // env -u: tap's spawn hook adds its loader to NODE_OPTIONS whatever env we pass.
  const [file, ...args] = [...dieWithTest, 'env', '-u', 'NODE_OPTIONS', ...command]
  const child = spawn(file as string, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let ended = false
  const forget = onTestExit(() => killGroup(child.pid))
  t.teardown(() => { if (!ended) killGroup(child.pid) })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(child.pid)
      reject(new Error(`${command.join(' ')} took longer than ${options.timeoutMs ?? 60_000} ms; stderr: ${stderr}`))
    }, options.timeoutMs ?? 60_000)
    child.once('error', reject)
    child.once('close', (code, signal) => {
      ended = true
      clearTimeout(timer)
      forget()
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/**
 * This test process's environment without what npm put in it when it ran
 * tap: `npm_config_local_prefix` would make npm work on this checkout
 * instead of the copy.
 */
export function cleanEnv (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)))
  return { ...env, npm_config_update_notifier: 'false', ...extra }
}

/** Names to pass as `env` to a spawn that must not inherit them (spawn drops undefined values). */
export function unset (names: readonly string[]): NodeJS.ProcessEnv {
  return Object.fromEntries(names.map((name) => [name, undefined]))
}

/**
 * Copies the checkout's files as a fresh clone has them, uncommitted changes
 * included: tracked and untracked files, not git-ignored ones (no dist/, no
 * dev-cert/). node_modules is linked, for the build. Packing this copy runs
 * prepack's build there, never in the checkout, whose dist/ other test files
 * run from at the same time.
 */
export function copyCheckout (dest: string): void {
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: packageRoot, encoding: 'utf8' })
  if (listed.status !== 0) throw new Error(`git ls-files failed in ${packageRoot}: ${listed.stderr}`)
  for (const path of listed.stdout.split('\0').filter(Boolean)) {
    const from = join(packageRoot, path)
    let stat
    try {
      stat = lstatSync(from)
    } catch {
      continue // deleted in the working tree, not yet committed
    }
    const to = join(dest, path)
    mkdirSync(dirname(to), { recursive: true })
    if (stat.isSymbolicLink()) symlinkSync(readlinkSync(from), to)
    else copyFileSync(from, to)
  }
  symlinkSync(join(packageRoot, 'node_modules'), join(dest, 'node_modules'))
}

export interface InstalledPackage {
  readonly tarball: string
  /** The tarball's entries, without tar's `package/` prefix. */
  readonly tarballFiles: readonly string[]
  readonly prefix: string
  /** `<prefix>/lib/node_modules/seraph` */
  readonly packageDir: string
  /** `<prefix>/bin/seraph`, the link npm makes to the package's bin. */
  readonly bin: string
  /** How npm found the dependencies: only its cache, or the registry too. */
  readonly installedFrom: 'npm cache' | 'npm cache and registry'
  readonly packMs: number
  readonly installMs: number
}

/**
 * `npm pack` of a copy of the checkout, then `npm install -g --prefix` of the
 * tarball under `work`: what a user of the package gets. `prepare` may
 * change the copy before it is packed. The dependencies come from npm's
 * cache (`npm ci` filled it); the registry only for what it lacks.
 */
export async function packAndInstall (t: Teardown, work: string, prepare: (source: string) => void = () => {}): Promise<InstalledPackage> {
  const source = join(work, 'checkout')
  copyCheckout(source)
  prepare(source)
  const tarballDir = join(work, 'tarball')
  mkdirSync(tarballDir)
  const env = cleanEnv()

  const packStart = performance.now()
  const pack = await run(t, ['npm', 'pack', '--pack-destination', tarballDir], { cwd: source, env, timeoutMs: 90_000 })
  if (pack.code !== 0) throw new Error(`npm pack failed (${String(pack.code)}): ${pack.stderr}`)
  const packMs = performance.now() - packStart
  const [name, ...more] = readdirSync(tarballDir).filter((file) => file.endsWith('.tgz'))
  if (name === undefined || more.length > 0) throw new Error(`expected one tarball in ${tarballDir}, found ${readdirSync(tarballDir).join(', ')}`)
  const tarball = join(tarballDir, name)
  const listing = await run(t, ['tar', '-tzf', tarball])
  if (listing.code !== 0) throw new Error(`tar -tzf failed: ${listing.stderr}`)
  const tarballFiles = listing.stdout.split('\n').filter(Boolean).map((entry) => entry.replace(/^package\//, ''))

  const prefix = join(work, 'prefix')
  const install = (network: string[]) => run(t, ['npm', 'install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', ...network, tarball], { env, timeoutMs: 120_000 })
  const installStart = performance.now()
  let installedFrom: InstalledPackage['installedFrom'] = 'npm cache'
  let installed = await install(['--offline'])
  if (installed.code !== 0) {
    installedFrom = 'npm cache and registry'
    installed = await install(['--prefer-offline'])
  }
  if (installed.code !== 0) throw new Error(`npm install -g failed (${String(installed.code)}): ${installed.stderr}`)
  const installMs = performance.now() - installStart
  // mkdtemp made `work` 0700: the package must be readable by nobody.
  chmodSync(work, 0o755)
  return { tarball, tarballFiles, prefix, packageDir: join(prefix, 'lib', 'node_modules', 'seraph'), bin: join(prefix, 'bin', 'seraph'), installedFrom, packMs, installMs }
}

/**
 * A directory holding a `node` that `uid` may run: this one's, or a link to
 * it when its folder is closed to others (CI's Node 24 sits in a mktemp
 * folder, mode 0700). The same binary either way: the Node under test.
 */
export function nodeDirFor (uid: number, gid: number, work: string): string {
  // test(1), not node itself: setpriv keeps root's capabilities until its
  // execve, so it could start a node the user could not.
  const asUser = spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', 'test', '-x', process.execPath])
  if (asUser.status === 0) return dirname(process.execPath)
  const dir = join(work, 'node-bin')
  mkdirSync(dir, { mode: 0o755 })
  try {
    linkSync(process.execPath, join(dir, 'node'))
  } catch {
    copyFileSync(process.execPath, join(dir, 'node'))
  }
  chmodSync(join(dir, 'node'), 0o755)
  return dir
}
