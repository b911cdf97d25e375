import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { packageRoot } from '../../src/shared/package-info.js'
import { checkWorkerAccess } from '../../src/primary/worker-access.js'

/** Tests run as root here: seraph's workers then run as nobody (uid 65534). */
export const runAsRoot = process.getuid?.() === 0

/** nobody's ids on Debian: the default account of a root-started seraph's workers. */
export const nobody = { uid: 65534, gid: 65534 } as const

/**
 * Whether nobody can load the built worker from this checkout: not from one
 * under a 0700 folder (a clone into `mktemp -d`, or /root), nor with a Node
 * in one. Asked with seraph's own check, of the kernel, as nobody.
 */
export const checkoutReadableByNobody: boolean = !runAsRoot || (() => {
  try {
    checkWorkerAccess({ user: 'nobody', group: 'nogroup', byDefault: true, ...nobody }, [join(packageRoot, 'dist', 'workers', 'worker.js'), join(packageRoot, 'node_modules')])
    return true
  } catch {
    return false
  }
})()

/**
 * tap's processinfo hook rides along into every process a test spawns (it
 * wraps child_process and puts itself back into NODE_OPTIONS) and writes a
 * record into `$_TAPJS_PROCESSINFO_CWD_/.tap/processinfo` at exit. A worker
 * running as nobody cannot write into the checkout's .tap/ and prints the
 * failure on stderr: seraph's processes write theirs into a folder anyone
 * may write to (1777, like /tmp), gone when the test process ends. Coverage
 * is off (.taprc), so nothing reads them.
 */
function processInfoFolder (): string {
  const folder = mkdtempSync(join(tmpdir(), 'seraph-processinfo-'))
  mkdirSync(join(folder, '.tap', 'processinfo'), { recursive: true })
  for (const dir of [folder, join(folder, '.tap'), join(folder, '.tap', 'processinfo')]) chmodSync(dir, 0o1777)
  process.once('exit', () => rmSync(folder, { recursive: true, force: true }))
  return folder
}

/**
 * What every seraph a test starts gets in its environment. Where nobody
 * cannot read the checkout, the workers run as the checkout's owner, as
 * `npm start` runs them (docs/Guides/run-on-a-server.md); the tests of the
 * default account itself (worker-user.test.ts) assert the refusal there.
 */
export const checkoutUserEnv: NodeJS.ProcessEnv = !runAsRoot
  ? {}
  : {
      _TAPJS_PROCESSINFO_CWD_: processInfoFolder(),
      ...(checkoutReadableByNobody ? {} : { SERAPH_USER: String(statSync(packageRoot).uid) })
    }
