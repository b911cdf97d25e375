import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { isSeraphError } from '../src/shared/errors.js'
import { devCertDir, seraphStateDir, stateHome } from '../src/shared/state-dir.js'
import { tempDir } from './helpers/certificates.js'
import { expectCliFailure } from './helpers/cli-failure.js'
import { getFresh } from './helpers/https-client.js'
import { startSeraph } from './helpers/seraph-process.js'

const noPasswdHome = (): undefined => undefined
const passwd = (): string => '/home/from-passwd'

t.test('XDG_STATE_HOME wins when it is an absolute path', async (t) => {
  t.equal(stateHome({ XDG_STATE_HOME: '/var/lib', HOME: '/home/alice' }, passwd), '/var/lib')
  t.equal(devCertDir({ XDG_STATE_HOME: '/var/lib', HOME: '/home/alice' }, passwd), '/var/lib/seraph/dev-cert')
})

t.test('a relative or empty XDG_STATE_HOME is ignored (the XDG spec): HOME is used', async (t) => {
  t.equal(stateHome({ XDG_STATE_HOME: 'state', HOME: '/home/alice' }, passwd), '/home/alice/.local/state')
  t.equal(stateHome({ XDG_STATE_HOME: '', HOME: '/home/alice' }, passwd), '/home/alice/.local/state')
  t.equal(seraphStateDir({ HOME: '/home/alice' }, '--state-dir', passwd), '/home/alice/.local/state/seraph')
})

t.test('HOME unset: the user database\'s home', async (t) => {
  t.equal(stateHome({}, passwd), '/home/from-passwd/.local/state')
  t.equal(stateHome({ HOME: '' }, passwd), '/home/from-passwd/.local/state')
})

t.test('no usable home: one SeraphError that says what to set, or what to pass instead', async (t) => {
  const cases: Array<[string, NodeJS.ProcessEnv, () => string | undefined, RegExp]> = [
    ['HOME relative', { HOME: 'alice' }, passwd, /HOME is "alice"/],
    ['HOME unset, uid unknown to the user database', {}, noPasswdHome, /HOME is unset and the user database gives no absolute home/],
    ['HOME unset, a relative home in the user database', { XDG_STATE_HOME: 'x' }, () => 'relative', /HOME is unset/]
  ]
  for (const [name, env, home, found] of cases) {
    t.equal(stateHome(env, home), undefined, `${name}: no state home`)
    const error = ((): unknown => {
      try {
        devCertDir(env, home)
      } catch (err) {
        return err
      }
      return undefined
    })()
    t.ok(isSeraphError(error) && error.code === 'SERAPH_ERR_STATE_HOME', `${name}: SERAPH_ERR_STATE_HOME`)
    const line = isSeraphError(error) ? error.toLine() : ''
    t.match(line, found, `${name}: says what it found`)
    t.match(line, /set either to an absolute path, or pass --cert and --key/, `${name}: says what to do`)
    t.notMatch(line, /\n/, `${name}: one line`)
  }
})

// The built CLI, end to end: the development certificate needs a state home.
t.test('seraph without a state home and without --cert: one line, exit 1', (t) =>
  expectCliFailure(t, [], 'SERAPH_ERR_STATE_HOME', '--cert and --key', { env: { HOME: 'not/absolute', XDG_STATE_HOME: 'neither' } }))

t.test('--domain without a state home and without --state-dir: one line, exit 1', (t) =>
  expectCliFailure(t, ['--domain', 'example.org'], 'SERAPH_ERR_STATE_HOME', '--state-dir', { env: { HOME: 'not/absolute', XDG_STATE_HOME: undefined } }))

// The README's promise, now that the folder lives outside the package: even
// a --root above the state dir never serves the development CA's key.
t.test('the development certificate is made in XDG_STATE_HOME and never served, even under --root', async (t) => {
  const root = tempDir(t)
  chmodSync(root, 0o755)
  writeFileSync(join(root, 'index.html'), 'home\n', { mode: 0o644 })
  const { port } = await startSeraph(t, ['--root', root, '--workers', '1'], { env: { XDG_STATE_HOME: join(root, 'state') } })
  const dir = join(root, 'state', 'seraph', 'dev-cert')
  t.ok(existsSync(join(dir, 'ca-key.pem')), 'created in $XDG_STATE_HOME/seraph/dev-cert')
  const ca = readFileSync(join(dir, 'ca.pem'))
  t.equal((await getFresh(ca, port, '/index.html')).status, 200, 'the root is served')
  for (const file of ['ca-key.pem', 'ca.pem', 'key.pem', 'cert.pem']) {
    t.equal((await getFresh(ca, port, `/state/seraph/dev-cert/${file}`)).status, 404, `${file} is not`)
  }
})
