import { execFile } from 'node:child_process'
import { readFileSync, watch } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { packageRoot } from '../src/shared/package-info.js'
import { tempDir } from './helpers/certificates.js'
import { devCa, getFresh } from './helpers/https-client.js'
import { startLoad } from './helpers/load.js'
import { killGroup, onTestExit } from './helpers/process-group.js'
import type { LogLine } from './helpers/seraph-process.js'
import { isAlive, waitUntilGone } from './helpers/seraph-process.js'
import { checkoutUserEnv } from './helpers/worker-user.js'

const run = promisify(execFile)
const pm2Bin = join(packageRoot, 'node_modules', 'pm2', 'bin', 'pm2')

t.test('seraph under the real pm2: start from ecosystem.config.cjs, zero-downtime reload, stop drains', async (t) => {
  const ca = await devCa()
  // A pm2 of our own: PM2_HOME in a temporary folder never touches the user's.
  const home = tempDir(t, 'seraph-pm2-')
  const env = { ...process.env, ...checkoutUserEnv, PM2_HOME: home, SERAPH_PORT: '0', SERAPH_HOST: '127.0.0.1', SERAPH_WORKERS: '2', SERAPH_KEEP_ALIVE_TIMEOUT: '1s' }
  const pm2 = (...args: string[]) => run(process.execPath, [pm2Bin, ...args], { env, cwd: packageRoot, timeout: 60_000 })
  const outLog = join(home, 'logs', 'seraph-out.log')
  const lines = (): LogLine[] => readFileSync(outLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogLine)
  // pm2 detaches its daemon and the app (each leads its own group): if this
  // file dies before `pm2 kill` (tap's timeout), nothing else stops them.
  // Pids are noted as they appear: teardowns may delete PM2_HOME first.
  const pids = new Set<number>()
  const notePids = (): void => {
    try { pids.add(Number(readFileSync(join(home, 'pm2.pid'), 'utf8'))) } catch {}
    try { for (const l of lines()) pids.add(l.pid).add((l.workerPid as number | undefined) ?? l.pid) } catch {}
  }
  const forget = onTestExit(() => {
    notePids()
    for (const pid of pids) killGroup(pid)
    for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL')
  })
  t.teardown(async () => {
    await pm2('kill').catch(() => undefined)
    forget()
  })

  // With wait_ready, `pm2 start` returns once seraph has sent 'ready'.
  await pm2('start', 'ecosystem.config.cjs')
  notePids()
  const ready = lines().find((l) => l.msg === 'ready')
  t.ok(ready, 'the ready line is in pm2\'s log')
  const port = ready?.port as number
  const { stdout } = await pm2('jlist')
  const [app] = JSON.parse(stdout) as Array<{ name: string, pid: number, pm2_env: { status: string, exec_mode: string } }>
  t.match(app, { name: 'seraph', pm2_env: { status: 'online', exec_mode: 'fork_mode' } })
  const primaryPid = app!.pid
  t.equal((await getFresh(ca, port, '/')).status, 200, 'HTTPS request answered')

  // Zero-downtime reload: pm2 forwards SIGHUP to the primary.
  const load = startLoad(ca, port, { keepAlive: 6, fresh: 2 })
  t.teardown(() => load.stop())
  await load.answers(100)
  const reloaded = waitForLogLine(outLog, lines, (l) => l.msg === 'reload complete')
  await pm2('sendSignal', 'SIGHUP', 'seraph')
  await reloaded
  await load.answers(200)
  notePids()
  const result = await load.stop()
  t.same(result.errors, [], `zero failed requests during the reload (${result.ok} answered)`)
  t.ok(result.keepAliveRequests > 5 * result.keepAliveConnections, `keep-alive was real: ${result.keepAliveRequests} requests on ${result.keepAliveConnections} connections`)
  t.ok(result.closes >= 1, `${result.closes} requests reached a draining worker on an open connection`)
  t.ok(isAlive(primaryPid), 'the same primary: pm2 did not restart it')

  const workers = [...new Set(lines().filter((l) => l.msg === 'worker forked').map((l) => l.workerPid as number))]
  await pm2('stop', 'seraph')
  t.notOk(isAlive(primaryPid), 'the primary is gone')
  t.same(await waitUntilGone(workers), [], 'no worker is left behind')
  const tail = lines()
  t.ok(tail.some((l) => l.msg === 'drained'), 'the workers drained')
  t.match(tail.at(-1), { msg: 'exited', code: 0 }, 'seraph exited 0')
  await pm2('kill')
})

/** Resolves with the first line in pm2's log file that passes `test`, watching the file for new lines. */
function waitForLogLine (file: string, lines: () => LogLine[], test: (line: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
  return new Promise((resolve, reject) => {
    const seen = lines().length
    const check = (): boolean => {
      const found = lines().slice(seen).find(test)
      if (found === undefined) return false
      watcher.close()
      clearTimeout(timer)
      resolve(found)
      return true
    }
    const watcher = watch(file, () => { check() })
    const timer = setTimeout(() => {
      watcher.close()
      reject(new Error(`no matching line in ${file}`))
    }, timeoutMs)
    check()
  })
}
