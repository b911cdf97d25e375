import { readFileSync, statSync } from 'node:fs'
import t from 'tap'
import { packageRoot } from '../src/shared/package-info.js'
import { SeraphProcess, waitUntilGone } from './helpers/seraph-process.js'
import { within } from './helpers/within.js'

// The README's main command, stopped by whatever signals npm alone: a
// process manager or `timeout` (SIGTERM), `kill -INT`, a hang-up (SIGHUP).
// --ignore-scripts skips only prestart's build: a tsc rewriting dist/ would
// race the test files running beside this one. --silent keeps stdout JSON.
const npmStart = ['npm', 'start', '--ignore-scripts', '--silent', '--']

// Ctrl-C signals the terminal's whole foreground group: npm forwards its
// SIGINT too, and seraph would take a second one as "force, do not drain".
const cases = [
  { signal: 'SIGTERM', to: 'npm\'s pid alone' },
  { signal: 'SIGINT', to: 'npm\'s pid alone' },
  { signal: 'SIGHUP', to: 'npm\'s pid alone' },
  { signal: 'SIGINT', to: 'npm\'s process group (Ctrl-C)' }
] as const

for (const { signal, to } of cases) {
  t.test(`${signal} to ${to} stops npm, the primary and every worker`, async (t) => {
    const npm = new SeraphProcess(['--host', '127.0.0.1', '--port', '0', '--workers', '2'], {
      command: npmStart,
      env: { npm_config_update_notifier: 'false' }
    })
    t.teardown(() => npm.killAll())
    await npm.waitForLine((line) => line.msg === 'ready', 'the ready line')
    const seraph = npm.seraphPids()
    t.equal(seraph.length, 3, 'a primary and two workers')
    t.notOk(seraph.includes(npm.child.pid!), 'npm is not seraph')

    process.kill(to.includes('group') ? -npm.child.pid! : npm.child.pid!, signal)
    const exited = await within(20_000, npm.exited)
    t.ok(exited, `npm exited (${JSON.stringify(exited)})`)
    t.same(await waitUntilGone(seraph, 20_000), [], 'no seraph process is left')
    t.ok(await within(20_000, npm.closed), 'stdout ended: every line has been read')
    t.match(npm.lines.at(-1), { role: 'primary', msg: 'exited', code: 0 }, 'the primary drained and exited 0')
    t.notOk(npm.lines.some((line) => line.msg === 'second signal: forcing shutdown'), 'one stop, drained, not forced')
    t.same(npm.badLines, [], 'nothing but JSON on stdout')
  })
}

t.test('npm start runs the workers as the checkout\'s owner when started as root (nobody may not be able to read a checkout), else as the user it runs as', async (t) => {
  const npm = new SeraphProcess(['--host', '127.0.0.1', '--port', '0', '--workers', '1'], {
    command: npmStart,
    env: { npm_config_update_notifier: 'false', SERAPH_USER: '' }
  })
  t.teardown(() => npm.killAll())
  await npm.waitForLine((line) => line.msg === 'ready', 'the ready line')
  const owner = statSync(packageRoot).uid
  const expected = process.getuid?.() === 0 ? owner : process.getuid?.()
  for (const pid of npm.liveWorkerPids()) {
    const uid = Number(/^Uid:\t(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
    t.equal(uid, expected, `worker ${pid} runs as uid ${String(expected)}`)
  }
  if (process.getuid?.() === 0 && owner === 0) {
    t.ok(npm.lines.some((line) => line.level === 40 && line.msg.startsWith('the workers run as root')), 'a checkout root owns: seraph warns that its workers are root')
  }
})
