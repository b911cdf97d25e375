import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import t from 'tap'
import { packageRoot } from '../src/shared/package-info.js'
import { killGroup } from './helpers/process-group.js'
import { isAlive, waitUntilGone } from './helpers/seraph-process.js'

const fixture = join(packageRoot, 'test', 'fixtures', 'seraph-then-hang.ts')
const key = 'cleanup-test-key'

// How a test file can end while its seraph runs. tap's timeout is the first:
// the runner sends this IPC message, the file's tap reports and sends itself
// SIGALRM; the runner sends SIGALRM too, then SIGKILL (@tapjs/core spawn.js).
const endings: Record<string, (child: ReturnType<typeof spawn>) => void> = {
  'tap timeout message': (child) => child.send({ tapAbort: 'timeout', key, child: '1' }),
  SIGALRM: (child) => child.kill('SIGALRM'),
  SIGTERM: (child) => child.kill('SIGTERM'),
  SIGINT: (child) => child.kill('SIGINT'),
  // No JavaScript runs: only the kernel can take seraph down with it.
  SIGKILL: (child) => child.kill('SIGKILL')
}

for (const [ending, end] of Object.entries(endings)) {
  t.test(`a test file ended by ${ending} leaves no seraph process`, async (t) => {
    // The loaders tap gives this file, so the fixture's TypeScript runs.
    const child = spawn(process.execPath, [...process.execArgv, fixture], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, TAP_CHILD_KEY: key, TAP_CHILD_ID: '1', TAP_TIMEOUT: '0' },
      detached: true
    })
    t.teardown(() => killGroup(child.pid))
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)))
    const pids = await new Promise<number[]>((resolve, reject) => {
      createInterface({ input: child.stderr! }).on('line', (line) => {
        if (line.startsWith('{"pids"')) resolve((JSON.parse(line) as { pids: number[] }).pids)
      })
      exited.then((how) => reject(new Error(`fixture ended (${String(how)}) before seraph was ready`)), () => {})
    })
    t.teardown(() => { for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL') })
    t.equal(pids.length, 3, 'a primary and two workers run')
    t.same(pids.filter(isAlive), pids, 'all of them alive before the fixture ends')

    end(child)
    t.ok(await exited, 'the fixture ended, not with exit code 0')
    t.same(await waitUntilGone(pids, 5_000), [], 'no seraph process outlives it')
  })
}
