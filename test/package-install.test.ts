import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { optionSpecs } from '../src/config/options.js'
import { tempDir } from './helpers/certificates.js'
import { getFresh } from './helpers/https-client.js'
import { nodeDirFor, packAndInstall, run, unset, type InstalledPackage } from './helpers/installed-package.js'
import { lookupUser } from '../src/config/accounts.js'
import { SeraphProcess } from './helpers/seraph-process.js'
import { within } from './helpers/within.js'

// What a user gets from `npm pack` and `npm install -g`: the tarball is
// packed (prepack builds it) from a copy of this checkout, installed into a
// temporary prefix, and its `seraph` run as nobody. One install serves every
// test below: packing and installing take most of this file's time.
const work = tempDir(t, 'seraph-package-')
const units = ['seraph.service', 'seraph-https.socket', 'seraph-http.socket']
let installed: InstalledPackage | undefined

t.before(async () => {
  // A module left in dist/ by an earlier build of a source since deleted:
  // prepack starts from an empty dist/, so it must not be packed.
  installed = await packAndInstall(t, work, (source) => {
    mkdirSync(join(source, 'dist', 'src'), { recursive: true })
    writeFileSync(join(source, 'dist', 'src', 'deleted-long-ago.js'), 'throw new Error("stale")\n')
  })
  t.comment(`npm pack ${Math.round(installed.packMs)} ms, npm install -g ${Math.round(installed.installMs)} ms (${installed.installedFrom})`)
})

function pkg (): InstalledPackage {
  if (installed === undefined) throw new Error('the package was not installed')
  return installed
}

t.test('the tarball has what seraph runs and nothing of the tests', async (t) => {
  const files = pkg().tarballFiles
  for (const needed of ['package.json', 'dist/src/cli.js', 'dist/src/npm-start.js', 'dist/workers/worker.js', 'public/index.html', 'ecosystem.config.cjs',
    ...units.map((unit) => `deploy/${unit}`), 'docs/Guides/run-on-a-server.md', 'README.md', 'LICENSE']) {
    t.ok(files.includes(needed), `has ${needed}`)
  }
  t.same(files.filter((file) => /^(test|src|bench|scripts|\.ci|workers)\//.test(file)), [], 'no tests, sources, benchmarks or CI scripts')
  t.same(files.filter((file) => /(^|\/)dev-cert\/|\.map$|\.ts$|^\.|\/\./.test(file)), [], 'no development certificate, source maps, TypeScript or dot files')
  // prepack built the copy from its own sources: each of them is in the
  // tarball compiled, and nothing else is in dist/ (no stale module).
  const checkout = join(work, 'checkout')
  const compiled = ['src', 'workers'].flatMap((folder) => readdirSync(join(checkout, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts')).map((file) => `dist/${folder}/${file.replace(/\.ts$/, '.js')}`))
  t.ok(compiled.length > 50, `the sources are there to compare with (${compiled.length})`)
  t.same(compiled.filter((file) => !files.includes(file)), [], 'every source module is in the tarball, compiled')
  t.same(files.filter((file) => file.startsWith('dist/') && !compiled.includes(file)), [], 'and nothing else under dist/, no stale module')
})

t.test('the installed seraph, run as nobody, serves a file over HTTPS with a development certificate in its state dir', async (t) => {
  const { bin, packageDir } = pkg()
  // seraph's own look-up (getent), as its --user has it.
  const nobody = lookupUser('nobody')!
  const home = join(work, 'home')
  mkdirSync(home)
  chownSync(home, nobody.uid, nobody.gid)
  const site = join(work, 'site')
  mkdirSync(site, { mode: 0o755 })
  const page = `<!doctype html><p>installed ${randomBytes(8).toString('hex')}</p>\n`
  writeFileSync(join(site, 'index.html'), page, { mode: 0o644 })
  chmodSync(site, 0o755)

  const nodeDir = nodeDirFor(nobody.uid, nobody.gid, work)
  const seraph = new SeraphProcess(['--root', site, '--host', '127.0.0.1', '--port', '0', '--workers', '1'], {
    // --pdeathsig after the uid change: a change of uid clears it. env -u:
    // tap's spawn hook puts its process-info loader back into NODE_OPTIONS,
    // and that loader cannot write its report as nobody.
    command: ['setpriv', `--reuid=${nobody.uid}`, `--regid=${nobody.gid}`, '--clear-groups', '--pdeathsig', 'KILL', '--', 'env', '-u', 'NODE_OPTIONS', bin],
    env: {
      // Nothing of npm's: the environment a user's shell has.
      ...unset(['XDG_STATE_HOME', 'SERAPH_USER', ...Object.keys(process.env).filter((name) => /^npm_/i.test(name))]),
      HOME: home,
      // The bin's `#!/usr/bin/env node` finds this one first: the Node under test.
      PATH: `${nodeDir}:/usr/bin:/bin`
    }
  })
  t.teardown(() => seraph.killAll())
  const ready = await seraph.waitForLine((line) => line.msg === 'ready', 'the ready line', 30_000)
  const uidOf = (pid: number): number => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
  t.equal(uidOf(ready.pid), nobody.uid, 'the primary runs as nobody')
  t.same(seraph.liveWorkerPids().map(uidOf), [nobody.uid], 'its worker too')
  const sameFile = (a: string, b: string): boolean => statSync(a).ino === statSync(b).ino && statSync(a).dev === statSync(b).dev
  // The same file, or (copied when a hard link was impossible) the same bytes.
  const exe = `/proc/${ready.pid}/exe`
  t.ok(sameFile(exe, process.execPath) || readFileSync(exe).equals(readFileSync(process.execPath)), 'it runs on the Node under test')

  const devCert = join(home, '.local', 'state', 'seraph', 'dev-cert')
  const ca = readFileSync(join(devCert, 'ca.pem'))
  const answer = await getFresh(ca, ready.port as number, '/')
  t.equal(answer.status, 200, 'GET / over HTTPS, trusting the CA it generated')
  t.equal(answer.body.toString(), page, 'the file from --root')

  t.equal(statSync(join(devCert, 'key.pem')).uid, nobody.uid, 'the development certificate was made by seraph, in $HOME/.local/state/seraph')
  t.notOk(existsSync(join(packageDir, 'dev-cert')), 'and not in the installed package')
  t.match(seraph.lines.find((line) => line.msg.startsWith('using the development certificate')), { cert: join(devCert, 'cert.pem'), created: true }, 'its log line names that certificate, created on this start')

  seraph.signal('SIGTERM')
  t.same(await within(20_000, seraph.closed), { code: 0, signal: null }, 'SIGTERM: drained, exit 0')
  t.same(seraph.badLines, [], 'stdout is JSON lines only')
  t.equal(seraph.stderr, '', 'nothing on stderr')
})

// systemd-analyze verify exits 0 on many mistakes (an unknown key is
// "ignoring") and only prints them: its stderr about our files is the verdict.
// It says nothing of an unknown capability name, so those are checked
// against the kernel's list.
async function checkUnits (t: Test, dir: string): Promise<{ code: number | null, problems: string[], other: string[] }> {
  const result = await run(t, ['systemd-analyze', 'verify', ...units.map((unit) => join(dir, unit))], { timeoutMs: 30_000 })
  const lines = result.stderr.split('\n').filter(Boolean)
  const ours = (line: string): boolean => line.includes(dir) || units.some((unit) => line.includes(unit))
  const problems = lines.filter(ours)
  const known = new Set(spawnSync('setpriv', ['--list-caps'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map((name) => `CAP_${name.toUpperCase()}`))
  for (const unit of units) {
    for (const [key, value] of directives(readFileSync(join(dir, unit), 'utf8'))) {
      if (key !== 'CapabilityBoundingSet' && key !== 'AmbientCapabilities') continue
      for (const cap of value.replace(/^~/, '').split(/\s+/).filter(Boolean)) {
        if (!known.has(cap)) problems.push(`${unit}: ${key}= names ${cap}, which this kernel does not know`)
      }
    }
  }
  return { code: result.code, problems, other: lines.filter((line) => !ours(line)) }
}

/** `[key, value]` of every directive, comments and sections left out. */
function directives (text: string): Array<[string, string]> {
  return text.split('\n').map((line) => /^([A-Za-z]+)=(.*)$/.exec(line.trim())).filter((m) => m !== null).map((m) => [m[1] as string, m[2] as string])
}

/**
 * The package's units with ExecStart= pointed at the installed seraph (verify
 * checks that it exists), each then passed through `edit`; `edited`: whether
 * `edit` changed any of them.
 */
function adaptedUnits (dir: string, edit: (unit: string, text: string) => string = (_unit, text) => text): { dir: string, edited: boolean } {
  const { packageDir, bin } = pkg()
  mkdirSync(dir)
  let edited = false
  for (const unit of units) {
    let text = readFileSync(join(packageDir, 'deploy', unit), 'utf8')
    if (unit === 'seraph.service') {
      const execStart = /^ExecStart=\/usr\/local\/bin\/seraph$/m
      if (!execStart.test(text)) throw new Error('seraph.service: ExecStart=/usr/local/bin/seraph not found')
      text = text.replace(execStart, `ExecStart=${bin}`)
    }
    const final = edit(unit, text)
    edited ||= final !== text
    writeFileSync(join(dir, unit), final)
  }
  return { dir, edited }
}

t.test('systemd-analyze verify accepts the units, with ExecStart= at the installed seraph', async (t) => {
  const { dir } = adaptedUnits(join(work, 'units'))
  const { code, problems, other } = await checkUnits(t, dir)
  t.equal(code, 0, 'exit code 0')
  t.same(problems, [], 'no warning about the units')
  if (other.length > 0) t.comment(`systemd-analyze, about other units: ${other.join(' | ')}`)

  const service = new Map(directives(readFileSync(join(dir, 'seraph.service'), 'utf8')))
  t.equal(service.get('Sockets'), 'seraph-https.socket seraph-http.socket', 'the service inherits both sockets')
  for (const [unit, name] of [['seraph-https.socket', 'https'], ['seraph-http.socket', 'http']] as const) {
    const socket = new Map(directives(readFileSync(join(dir, unit), 'utf8')))
    t.equal(socket.get('FileDescriptorName'), name, `${unit} passes its socket as "${name}", the name seraph looks for`)
    t.equal(socket.get('Service'), 'seraph.service', `${unit} activates seraph.service`)
  }
  const stopSeconds = Number(/^(\d+)s$/.exec(service.get('TimeoutStopSec') ?? '')?.[1])
  // seraph's own shutdown: --shutdown-timeout, then a 5 s backstop (primary.ts).
  t.ok(stopSeconds * 1000 > optionSpecs.shutdownTimeout.default + 5_000, `TimeoutStopSec (${stopSeconds} s) outlasts seraph's shutdown, so systemd never SIGKILLs a drain`)

  // Documentation= points at the guide where the package installs it.
  const docs = /^file:\/usr\/local\/lib\/node_modules\/seraph\/(.+)$/.exec(service.get('Documentation') ?? '')
  t.ok(docs !== null && existsSync(join(pkg().packageDir, docs[1] as string)), `Documentation= is a file of the installed package (${service.get('Documentation')})`)
})

t.test('the check itself catches a broken unit', async (t) => {
  const cases: Array<[string, (unit: string, text: string) => string, RegExp]> = [
    ['a misspelt directive', (unit, text) => unit === 'seraph.service' ? text.replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes') : text, /Unknown key 'NoNewPrivilege'/],
    ['a bad value', (unit, text) => unit === 'seraph-https.socket' ? text.replace('BindIPv6Only=both', 'BindIPv6Only=all') : text, /bind IPv6 only/],
    ['a misspelt capability', (unit, text) => unit === 'seraph.service' ? text.replace('CAP_SETGID', 'CAP_SETGUID') : text, /CAP_SETGUID/],
    ['a socket for a service that is not there', (unit, text) => unit === 'seraph-http.socket' ? text.replace('Service=seraph.service', 'Service=seraf.service') : text, /seraf\.service/]
  ]
  for (const [index, [name, edit, expected]] of cases.entries()) {
    const broken = adaptedUnits(join(work, `broken-${index}`), edit)
    t.ok(broken.edited, `${name}: the unit was broken (the text to break is still there)`)
    const { code, problems } = await checkUnits(t, broken.dir)
    t.ok(code !== 0 || problems.some((line) => expected.test(line)), `${name}: reported (exit ${String(code)}: ${problems.join(' | ')})`)
  }
  const missing = adaptedUnits(join(work, 'broken-exec'), (unit, text) => unit === 'seraph.service' ? text.replace(/^ExecStart=.*$/m, `ExecStart=${join(work, 'no-such-seraph')}`) : text)
  const { code } = await checkUnits(t, missing.dir)
  t.not(code, 0, 'an ExecStart= binary that does not exist fails verify')
})

t.test('the README and guide point at the units the package ships', async (t) => {
  const { packageDir } = pkg()
  const guide = readFileSync(join(packageDir, 'docs', 'Guides', 'run-on-a-server.md'), 'utf8')
  for (const unit of units) t.match(guide, unit, `the guide names ${unit}`)
  t.same(readdirSync(join(packageDir, 'deploy')).sort(), [...units].sort(), 'deploy/ holds the three units')
  t.match(readFileSync(join(packageDir, 'README.md'), 'utf8'), /\(docs\/Guides\/run-on-a-server\.md\)/, 'the README links to the guide')
})
