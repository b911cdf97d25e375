import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { errorMessages, type SeraphErrorCode } from '../src/shared/errors.js'
import { packageRoot } from '../src/shared/package-info.js'
import { makeCertificate, tempDir } from './helpers/certificates.js'
import { expectCliFailure } from './helpers/cli-failure.js'

const day = 86_400_000

t.test('bad input: one line on stderr, non-zero exit, nothing left running', async (t) => {
  const dir = tempDir(t)
  const good = await makeCertificate(dir, 'good')
  const other = await makeCertificate(dir, 'other')
  const expired = await makeCertificate(dir, 'expired', { notBefore: new Date(Date.now() - 30 * day), notAfter: new Date(Date.now() - day) })
  const future = await makeCertificate(dir, 'future', { notBefore: new Date(Date.now() + 2 * day), notAfter: new Date(Date.now() + 30 * day) })
  const garbage = join(dir, 'garbage.pem')
  writeFileSync(garbage, 'this is not a certificate\n')
  const aFile = join(dir, 'a-file')
  writeFileSync(aFile, 'x')

  const cases: Array<[string, string[], SeraphErrorCode, RegExp | string]> = [
    ['unknown flag', ['--prot', '8443'], 'SERAPH_ERR_UNKNOWN_OPTION', '--prot'],
    ['positional argument', ['serve'], 'SERAPH_ERR_UNEXPECTED_ARGUMENT', 'serve'],
    ['flag without value', ['--root'], 'SERAPH_ERR_MISSING_VALUE', '--root'],
    ['port not a number', ['--port', 'abc'], 'SERAPH_ERR_INVALID_NUMBER', '--port'],
    ['port out of range', ['--port', '70000'], 'SERAPH_ERR_INVALID_NUMBER', '--port'],
    ['negative port', ['--port=-1'], 'SERAPH_ERR_INVALID_NUMBER', '--port'],
    ['zero workers', ['--workers', '0'], 'SERAPH_ERR_INVALID_NUMBER', '--workers'],
    ['fractional workers', ['--workers', '1.5'], 'SERAPH_ERR_INVALID_NUMBER', '--workers'],
    ['bad log level', ['--log-level', 'loud'], 'SERAPH_ERR_INVALID_CHOICE', '--log-level'],
    ['bad duration', ['--shutdown-timeout', 'soon'], 'SERAPH_ERR_INVALID_DURATION', '--shutdown-timeout'],
    ['missing root', ['--root', join(dir, 'nope')], 'SERAPH_ERR_ROOT_NOT_FOUND', '--root'],
    ['root is a file', ['--root', aFile], 'SERAPH_ERR_ROOT_NOT_DIRECTORY', '--root'],
    ['only --cert', ['--cert', good.cert], 'SERAPH_ERR_CERT_PAIR_INCOMPLETE', '--key'],
    ['only --key', ['--key', good.key], 'SERAPH_ERR_CERT_PAIR_INCOMPLETE', '--cert'],
    ['unreadable certificate', ['--cert', join(dir, 'missing.pem'), '--key', good.key], 'SERAPH_ERR_CERT_UNREADABLE', 'missing.pem'],
    ['unreadable key', ['--cert', good.cert, '--key', join(dir, 'missing-key.pem')], 'SERAPH_ERR_CERT_UNREADABLE', '--key'],
    ['not a certificate', ['--cert', garbage, '--key', good.key], 'SERAPH_ERR_CERT_INVALID', '--cert'],
    ['not a key', ['--cert', good.cert, '--key', garbage], 'SERAPH_ERR_KEY_INVALID', '--key'],
    ['key of another certificate', ['--cert', good.cert, '--key', other.key], 'SERAPH_ERR_CERT_MISMATCH', '--key'],
    ['expired certificate', ['--cert', expired.cert, '--key', expired.key], 'SERAPH_ERR_CERT_EXPIRED', 'expired'],
    ['certificate not yet valid', ['--cert', future.cert, '--key', future.key], 'SERAPH_ERR_CERT_NOT_YET_VALID', '--cert'],
    ['ticket key file of the wrong size', ['--ticket-key-file', garbage], 'SERAPH_ERR_TICKET_KEY_INVALID', 'garbage.pem'],
    ['missing ticket key file', ['--ticket-key-file', join(dir, 'nope.key')], 'SERAPH_ERR_TICKET_KEY_UNREADABLE', '--ticket-key-file'],
    ['address not on this machine', ['--host', '192.0.2.1'], 'SERAPH_ERR_HOST_UNAVAILABLE', '192.0.2.1'],
    ['unknown cipher', ['--tls-ciphers', 'ECDHE-RSA-AES128-GCM-SHA256:NO-SUCH-CIPHER'], 'SERAPH_ERR_TLS_CIPHERS_INVALID', 'NO-SUCH-CIPHER'],
    ['TLS version too old', ['--tls-min-version', '1.1'], 'SERAPH_ERR_INVALID_CHOICE', '--tls-min-version']
  ]
  for (const [name, args, code, mention] of cases) {
    await t.test(name, (t) => expectCliFailure(t, args, code, mention))
  }

  await t.test('environment variables are validated like flags', (t) =>
    expectCliFailure(t, [], 'SERAPH_ERR_INVALID_CHOICE', 'SERAPH_LOG_LEVEL', { env: { SERAPH_LOG_LEVEL: 'loud' } }))
})

t.test('port already in use', async (t) => {
  const blocker = createServer()
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
  t.teardown(() => blocker.close())
  const { port } = blocker.address() as { port: number }
  await expectCliFailure(t, ['--port', String(port)], 'SERAPH_ERR_PORT_IN_USE', `--port ${port}`)
})

t.test('no permission for the port', async (t) => {
  // Port 80 needs CAP_NET_BIND_SERVICE. As root (CI), drop that capability
  // with setpriv; as a normal user it is missing already.
  const unprivilegedFrom = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'))
  t.ok(unprivilegedFrom > 80, `port 80 is privileged on this machine (unprivileged from ${unprivilegedFrom})`)
  const isRoot = process.getuid?.() === 0
  const args = ['--port', '80']
  if (!isRoot) return expectCliFailure(t, args, 'SERAPH_ERR_PORT_PERMISSION', '--port 80')
  t.equal(spawnSync('setpriv', ['--version']).status, 0, 'setpriv (util-linux) is installed')
  await expectCliFailure(t, args, 'SERAPH_ERR_PORT_PERMISSION', '--port 80', {
    launcher: ['setpriv', '--bounding-set=-net_bind_service', '--inh-caps=-net_bind_service']
  })
})

t.test('workers that die at start-up end in a crash-loop error, not an endless restart', async (t) => {
  const fixture = join(packageRoot, 'test', 'fixtures', 'crash-in-worker.mjs')
  await expectCliFailure(t, ['--workers', '2'], 'SERAPH_ERR_CRASH_LOOP', /exited with code 3/, { execArgv: ['--import', fixture] })
})

t.test('every error code has a message', async (t) => {
  for (const [code, message] of Object.entries(errorMessages)) t.ok(message.length > 10, code)
})

t.test('a headers timeout longer than the request timeout is refused', async (t) => {
  await expectCliFailure(t, ['--headers-timeout', '20s', '--request-timeout', '10s'], 'SERAPH_ERR_TIMEOUT_ORDER', '--headers-timeout')
})

t.test('an admin port already in use', async (t) => {
  const blocker = createServer()
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
  t.teardown(() => blocker.close())
  const { port } = blocker.address() as { port: number }
  await expectCliFailure(t, ['--admin-port', String(port)], 'SERAPH_ERR_ADMIN_LISTEN_FAILED', `--admin-port ${port}`)
})
