import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { SeraphError } from '../shared/errors.js'
import type { Logger } from '../shared/logger.js'
import { packageRoot } from '../shared/package-info.js'
import type { WorkerUser } from '../config/user-options.js'

/**
 * Started as root: checks that the workers' account can read their code and
 * `root` (throws SERAPH_ERR_USER_CANNOT_READ), and says in the log who they run as.
 */
export function admitWorkerUser (log: Logger, user: WorkerUser, workerScript: string, root: string): void {
  // What a worker loads: its entry, the code beside it (dist/src), its dependencies.
  const dependencies = join(packageRoot, 'node_modules')
  const code = [workerScript, join(dirname(workerScript), '..', 'src'), ...(existsSync(dependencies) ? [dependencies] : [])]
  checkWorkerAccess(user, [...code, root])
  const fields = { user: user.user, uid: user.uid, group: user.group, gid: user.gid }
  if (user.uid === 0) log.warn(fields, 'the workers run as root (--user root): a bug on a request path would be root on this machine')
  else if (user.byDefault) log.info(fields, 'started as root: the workers run as nobody (choose them with --user)')
  else log.info(fields, `the workers run as ${user.user}`)
}

// Run as the workers' account: walks each path from / and names the first
// component it cannot enter (x) or, at the end, read (r, and x for a folder).
// The kernel answers, so ACLs, mounts and the groups libuv leaves a child
// with (none but its gid: it calls setgroups(0) before setuid) all count.
const probe = `
const { accessSync, statSync, constants } = require('node:fs')
for (const target of JSON.parse(process.argv[1])) {
  const parts = target.split('/').filter(Boolean)
  let path = ''
  for (let i = 0; i < parts.length; i++) {
    path += '/' + parts[i]
    try {
      const last = i === parts.length - 1
      const mode = !last ? constants.X_OK : statSync(path).isDirectory() ? constants.R_OK | constants.X_OK : constants.R_OK
      accessSync(path, mode)
    } catch (err) {
      process.stdout.write(JSON.stringify({ path, code: err.code }))
      process.exit(0)
    }
  }
}
`

/**
 * Checks, before any worker is forked, that the workers' account can read
 * `paths` (their code and --root): a worker that cannot would die at start,
 * again and again, with nothing but a crash loop to show for it. Throws
 * SERAPH_ERR_USER_CANNOT_READ naming the first path it cannot.
 */
export function checkWorkerAccess (user: WorkerUser, paths: readonly string[]): void {
  // Root reads everything (CAP_DAC_OVERRIDE): nothing to ask.
  if (user.uid === 0) return
  const result = spawnSync(process.execPath, ['-e', probe, JSON.stringify(paths)], {
    uid: user.uid,
    gid: user.gid,
    cwd: '/',
    env: {},
    encoding: 'utf8',
    timeout: 10_000
  })
  if (result.error !== undefined || result.status !== 0) {
    // Node itself could not run as that user: its binary lies where they cannot reach.
    const code = (result.error as NodeJS.ErrnoException | undefined)?.code ?? `exit ${String(result.status ?? result.signal)}`
    throw new SeraphError('SERAPH_ERR_USER_CANNOT_READ', user.user, process.execPath, code)
  }
  if (result.stdout === '') return
  const refused = JSON.parse(result.stdout) as { path: string, code: string }
  throw new SeraphError('SERAPH_ERR_USER_CANNOT_READ', user.user, refused.path, refused.code)
}
