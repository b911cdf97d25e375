import { spawn } from 'node:child_process'
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import t from 'tap'
import { request } from 'undici'
import { socketActivation } from '../src/config/socket-activation.js'
import { isSeraphError } from '../src/shared/errors.js'
import { makeCertificate, tempDir } from './helpers/certificates.js'
import { expectCliFailure } from './helpers/cli-failure.js'
import { getFresh } from './helpers/https-client.js'
import { dieWithTest, killGroup, onTestExit } from './helpers/process-group.js'
import { cliPath, SeraphProcess } from './helpers/seraph-process.js'
import { stablePort } from './helpers/stable-port.js'
import { checkoutReadableByNobody, nobody, runAsRoot } from './helpers/worker-user.js'

t.test('LISTEN_* as sd_listen_fds(3) defines them, by name or by order', async (t) => {
  const pid = 4321
  t.equal(socketActivation({}, pid), undefined, 'no variables: seraph binds its ports')
  t.same(socketActivation({ LISTEN_PID: '4321', LISTEN_FDS: '1' }, pid), { https: 3, http: undefined }, 'one socket: HTTPS on fd 3')
  t.same(socketActivation({ LISTEN_PID: '4321', LISTEN_FDS: '2' }, pid), { https: 3, http: 4 }, 'two unnamed: HTTPS then HTTP')
  t.same(socketActivation({ LISTEN_PID: '4321', LISTEN_FDS: '2', LISTEN_FDNAMES: 'http:https' }, pid), { https: 4, http: 3 }, 'names decide over order')
  t.same(socketActivation({ LISTEN_PID: '4321', LISTEN_FDS: '2', LISTEN_FDNAMES: 'seraph.socket:seraph.socket' }, pid), { https: 3, http: 4 }, 'systemd\'s default names (the unit\'s) say nothing: order')
  t.same(socketActivation({ LISTEN_PID: '4321', LISTEN_FDS: '1', LISTEN_FDNAMES: 'https' }, pid), { https: 3, http: undefined })
  t.equal(socketActivation({ LISTEN_PID: '99', LISTEN_FDS: '2' }, pid), undefined, 'for another process (inherited): ignored')
  t.equal(socketActivation({ LISTEN_PID: '4321', LISTEN_FDS: '0' }, pid), undefined, 'zero sockets: none')
  const bad: Array<[NodeJS.ProcessEnv, string]> = [
    [{ LISTEN_FDS: '2' }, 'LISTEN_PID="": not a process id (systemd socket activation)'],
    [{ LISTEN_PID: 'me', LISTEN_FDS: '2' }, 'LISTEN_PID="me": not a process id (systemd socket activation)'],
    [{ LISTEN_PID: '4321' }, 'LISTEN_FDS="": not a number of sockets (systemd socket activation)'],
    [{ LISTEN_PID: '4321', LISTEN_FDS: 'two' }, 'LISTEN_FDS="two": not a number of sockets (systemd socket activation)'],
    [{ LISTEN_PID: '4321', LISTEN_FDS: '3' }, 'LISTEN_FDS="3": seraph takes at most 2 sockets, https and http (systemd socket activation)'],
    [{ LISTEN_PID: '4321', LISTEN_FDS: '2', LISTEN_FDNAMES: 'https' }, 'LISTEN_FDNAMES="https": names 1 sockets, LISTEN_FDS passes 2 (systemd socket activation)'],
    [{ LISTEN_PID: '4321', LISTEN_FDS: '2', LISTEN_FDNAMES: 'https:ftp' }, 'LISTEN_FDNAMES="https:ftp": "ftp" is neither https nor http (systemd socket activation)'],
    [{ LISTEN_PID: '4321', LISTEN_FDS: '2', LISTEN_FDNAMES: 'https:https' }, 'LISTEN_FDNAMES="https:https": names two sockets https (systemd socket activation)'],
    [{ LISTEN_PID: '4321', LISTEN_FDS: '1', LISTEN_FDNAMES: 'http' }, 'LISTEN_FDNAMES="http": no socket is named https (systemd socket activation)']
  ]
  for (const [env, message] of bad) {
    t.throws(() => socketActivation(env, pid), { code: 'SERAPH_ERR_SOCKET_ACTIVATION', message }, message)
  }
  t.ok(bad.every(([env]) => { try { socketActivation(env, pid) } catch (err) { return isSeraphError(err) } return false }), 'every refusal is a SeraphError (one line)')
})

interface Activator {
  readonly seraph: SeraphProcess
  readonly httpsPort: number
  readonly httpPort: number
}

// systemd-socket-activate binds, then waits for the first connection before it
// execs seraph with the sockets, exactly as systemd's Accept=no does.
async function underSocketActivation (t: Parameters<typeof tempDir>[0], fdNames: string | undefined, args: readonly string[]): Promise<Activator> {
  const httpsPort = await stablePort()
  const httpPort = await stablePort()
  // As root, seraph runs as nobody from the start: systemd holds the ports.
  const asUser = runAsRoot ? ['setpriv', '--reuid', 'nobody', '--regid', 'nogroup', '--clear-groups'] : []
  // Named http:https, the HTTP socket comes first (fd 3): the names, not the order, must decide.
  const sockets = fdNames === 'http:https' ? [httpPort, httpsPort] : [httpsPort, httpPort]
  const activate = ['systemd-socket-activate', ...sockets.flatMap((port) => ['-l', `127.0.0.1:${port}`]),
    ...(fdNames === undefined ? [] : [`--fdname=${fdNames}`]), '-E', 'NODE_OPTIONS', '-E', '_TAPJS_PROCESSINFO_CWD_', '-E', 'SERAPH_USER']
  const seraph = new SeraphProcess(args, { command: [...asUser, ...activate, process.execPath, cliPath] })
  t.teardown(() => seraph.killAll())
  await new Promise<void>((resolve, reject) => {
    const knock = (): void => {
      const socket = connect(httpsPort, '127.0.0.1', () => { socket.destroy(); resolve() })
      socket.once('error', () => setTimeout(knock, 50))
    }
    seraph.exited.then(() => reject(new Error(`systemd-socket-activate exited: ${seraph.stderr}`)), () => {})
    knock()
  })
  return { seraph, httpsPort, httpPort }
}

if (checkoutReadableByNobody) {
  t.test('under systemd-socket-activate, as an unprivileged user: HTTPS and the redirect on the sockets systemd passed', async (t) => {
    const dir = tempDir(t, 'seraph-activation-')
    const pair = await makeCertificate(dir, 'pair')
    const root = join(dir, 'site')
    mkdirSync(root)
    writeFileSync(join(root, 'index.html'), 'activated\n')
    // The whole of seraph runs as nobody here: its key must be theirs.
    if (runAsRoot) chownSync(pair.key, nobody.uid, nobody.gid)
    for (const fdNames of ['http:https', undefined]) {
      const { seraph, httpsPort, httpPort } = await underSocketActivation(t, fdNames, ['--workers', '2', '--root', root, '--cert', pair.cert, '--key', pair.key, '--port', '1', '--redirect-port', '2'])
      const label = fdNames === undefined ? 'by order' : `named ${fdNames}`
      const ready = await seraph.waitForLine((l) => l.msg === 'ready', 'the ready line')
      t.equal(ready.port, httpsPort, `${label}: the ready line has systemd's HTTPS port, not --port`)
      t.equal(ready.redirectPort, httpPort, `${label}: and its HTTP port`)
      t.ok(seraph.lines.some((l) => l.msg === 'socket activation: serving on the sockets systemd passed'), `${label}: the log says so`)
      const page = await getFresh(readFileSync(pair.ca), httpsPort, '/')
      t.equal(page.body.toString(), 'activated\n', `${label}: HTTPS serves --root`)
      const plain = await request(`http://127.0.0.1:${httpPort}/a?b`, { headers: { host: 'blog.example' } })
      await plain.body.dump()
      t.equal(plain.headers.location, `https://blog.example:${httpsPort}/a?b`, `${label}: the HTTP socket redirects`)
      if (runAsRoot) {
        for (const pid of [ready.pid, ...seraph.liveWorkerPids()]) {
          t.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /^Uid:\t65534\t65534\t65534\t65534$/m, `${label}: process ${pid} runs as nobody`)
        }
      }
      seraph.signal('SIGTERM')
      t.equal((await seraph.closed).code, 0, `${label}: SIGTERM drains and exits 0`)
    }
  })
}

t.test('socket activation that cannot be used: one line, exit 1', async (t) => {
  // sh execs node in its own place: $$ is seraph's pid, as LISTEN_PID must be.
  const withListenPid = (setup: string): { command: string[] } => ({ command: ['sh', '-c', `${setup} export LISTEN_PID=$$; exec "$@"`, 'sh', process.execPath, cliPath] })
  await expectCliFailure(t, [], 'SERAPH_ERR_SOCKET_ACTIVATION', 'LISTEN_FDS="3": seraph takes at most 2 sockets', { ...withListenPid(''), env: { LISTEN_FDS: '3' } })
  await expectCliFailure(t, [], 'SERAPH_ERR_SOCKET_ACTIVATION', 'LISTEN_PID="self"', { env: { LISTEN_PID: 'self', LISTEN_FDS: '1' } })
  await expectCliFailure(t, [], 'SERAPH_ERR_SOCKET_ACTIVATION', 'LISTEN_FDS="1": file descriptor 3 is not a TCP socket', { ...withListenPid('exec 3</etc/hostname;'), env: { LISTEN_FDS: '1' } })
})

t.test('LISTEN_* meant for another process (LISTEN_PID is not seraph\'s): seraph binds --port as usual', async (t) => {
  const seraph = new SeraphProcess(['--host', '127.0.0.1', '--port', '0', '--workers', '1'], { env: { LISTEN_PID: '1', LISTEN_FDS: '2' } })
  t.teardown(() => seraph.killAll())
  const ready = await seraph.waitForLine((l) => l.msg === 'ready', 'the ready line')
  t.ok((ready.port as number) > 0, 'it listens on a port of its own')
  t.notOk(seraph.lines.some((l) => l.msg.startsWith('socket activation')), 'and did not take fd 3 for a socket')
})

t.test('Type=notify: READY=1 reaches NOTIFY_SOCKET once every worker listens, with the primary as MAINPID; STOPPING=1 on SIGTERM', async (t) => {
  const dir = tempDir(t, 'seraph-notify-')
  const socketPath = join(dir, 'notify.sock')
  // A real datagram socket, as systemd's: systemd-socket-activate binds it and
  // hands it to cat, which prints every datagram it receives.
  const listener = spawn(dieWithTest[0]!, [...dieWithTest.slice(1), 'systemd-socket-activate', '--datagram', '-l', socketPath, 'sh', '-c', 'exec cat <&3'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  const forget = onTestExit(() => killGroup(listener.pid))
  t.teardown(() => { killGroup(listener.pid); forget() })
  let received = ''
  const waiters = new Set<() => void>()
  listener.stdout.setEncoding('utf8').on('data', (chunk: string) => { received += chunk; for (const w of waiters) w() })
  const until = (pattern: RegExp, what: string): Promise<void> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} on NOTIFY_SOCKET; got ${JSON.stringify(received)}`)), 20_000)
    const check = (): void => { if (pattern.test(received)) { clearTimeout(timer); waiters.delete(check); resolve() } }
    waiters.add(check)
    check()
  })
  await new Promise<void>((resolve) => createInterface({ input: listener.stderr }).on('line', (line) => { if (line.startsWith('Listening on')) resolve() }))
  const seraph = new SeraphProcess(['--host', '127.0.0.1', '--port', '0', '--workers', '2'], { env: { NOTIFY_SOCKET: socketPath } })
  t.teardown(() => seraph.killAll())
  await until(/READY=1/, 'READY=1')
  const ready = seraph.lines.find((l) => l.msg === 'ready')
  t.ok(ready, 'READY=1 came after the ready line, when every worker listened')
  t.equal(seraph.lines.filter((l) => l.msg === 'worker listening').length, 2, 'both workers listened by then')
  await until(/MAINPID=\d+/, 'MAINPID')
  t.equal(Number(/MAINPID=(\d+)/.exec(received)?.[1]), ready?.pid, 'MAINPID is the primary')
  t.match(received, new RegExp(`STATUS=serving https://127\\.0\\.0\\.1:${ready?.port as number}/ \\(2 workers\\)`), 'STATUS says what it serves')
  t.notMatch(received, /STOPPING=1/, 'not stopping yet')
  seraph.signal('SIGTERM')
  await until(/STOPPING=1/, 'STOPPING=1')
  t.equal((await seraph.closed).code, 0, 'drained and exited 0')
})
